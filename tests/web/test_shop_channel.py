"""The channel the shop sells on is the catalogue's self-service channel: a web channel, else
an app channel, never a till's, the call centre's or a marketplace's."""

from __future__ import annotations

from omniretail.bootstrap import Container
from omniretail.catalog import service as catalog
from omniretail.catalog.models import ChannelKind
from omniretail.catalog.schemas import ChannelWrite
from omniretail.web.shop.shopping import web_channel


def _channel(container: Container, code: str, kind: ChannelKind) -> None:
    with container.uow() as uow:
        catalog.save_channel(uow, ChannelWrite(code=code, name=code.title(), kind=kind))


def _shop_channel(container: Container) -> str | None:
    with container.read_uow() as uow:
        return web_channel(uow)


def test_the_shop_never_sells_on_a_till_or_call_centre_channel(container: Container) -> None:
    _channel(container, "A-TILL", ChannelKind.STORE_POS)
    _channel(container, "B-CALLS", ChannelKind.CALL_CENTRE)
    assert _shop_channel(container) is None


def test_the_shop_sells_on_the_web_channel_else_the_app_channel(container: Container) -> None:
    _channel(container, "A-TILL", ChannelKind.STORE_POS)
    _channel(container, "Z-APP", ChannelKind.APP)
    assert _shop_channel(container) == "Z-APP"
    _channel(container, "Y-WEB", ChannelKind.WEB)
    assert _shop_channel(container) == "Y-WEB"
    with container.read_uow() as uow:
        assert _shop_channel(container) == catalog.self_service_channel(uow)
