"""The messages the classic journeys send: real copy, personalised.

What a template may use (anything missing renders as nothing, so every optional part sits
in an ``{% if %}``): ``customer.first_name``, ``customer.tier``, ``customer.points``,
``buy_again`` (``messages.personal_context``) and, added by sending from the run's context:
``coupon.code`` (after a coupon step), ``product.name`` / ``product.price`` /
``product.currency`` (the trigger's SKU), ``store.name`` / ``store.available`` (the customer's
store and its stock of that SKU), ``cart.lines`` (``name``, ``quantity``) and ``event`` (the
trigger's fields, e.g. ``event.old_price``, ``event.order``).
"""

from __future__ import annotations

from omniretail.marketing.schemas import MessageCreate

# The shop's address in the copy below; ``on_site`` puts the installing site's in its place.
SHOP = "https://shop.example.com"
HI = "Hi{% if customer.first_name %} {{ customer.first_name }}{% endif %},"
BUY_AGAIN = (
    "{% if buy_again %}Running low? You bought "
    "{{ buy_again | map(attribute='name') | join(', ') }} before, ready when you are."
    "{% endif %}"
)
PRODUCT = "{% if product.name %}{{ product.name }}{% else %}the item you wanted{% endif %}"
PRICE = (
    "{% if product.price %} at {{ product.price | money(product.currency or 'GBP') }}{% endif %}"
)


def _m(code: str, name: str, subject: str, body: str, link: str, label: str) -> MessageCreate:
    return MessageCreate(
        code=code, name=name, subject=subject, body=body, link_url=f"{SHOP}{link}", link_label=label
    )


def on_site(message: MessageCreate, site_url: str) -> MessageCreate:
    """``message`` with its button linking to the same page of the shop at ``site_url``."""
    link = str(message.link_url or "")
    if not link.startswith(SHOP):
        return message
    data = message.model_dump()
    data["link_url"] = site_url.rstrip("/") + link[len(SHOP) :]
    return MessageCreate.model_validate(data)


WELCOME = [
    _m(
        "classic-welcome-1",
        "Welcome series 1: hello",
        "Welcome{% if customer.first_name %}, {{ customer.first_name }}{% endif %}, we're glad "
        "you're here",
        f"{HI}\n\n"
        "Thanks for joining us. Your account works everywhere we do: on the web, in the app "
        "and at the till in any of our stores, so your basket, your points and your orders "
        "follow you.\n\n"
        "{% if customer.points %}You already have {{ customer.points }} points to get you "
        "started.{% endif %} Pick your store and we'll show you what's on its shelves "
        "before you set off.",
        "/account/details",
        "Choose my store",
    ),
    _m(
        "classic-welcome-2",
        "Welcome series 2: how to shop with us",
        "Three ways to get it, your way",
        f"{HI}\n\n"
        "Order online and collect from your store, often the same day. Have it delivered to "
        "your door. Or see live stock at your store and walk straight to the shelf.\n\n"
        "Changed your mind? Returns are free in store or by post, whichever way you bought.",
        "/shop",
        "Start shopping",
    ),
    _m(
        "classic-welcome-3",
        "Welcome series 3: first order nudge",
        "{% if customer.first_name %}{{ customer.first_name }}, y{% else %}Y{% endif %}our "
        "first order is waiting",
        f"{HI}\n\n"
        "You've had a look around. When you're ready for your first order, click and collect "
        "is free and your store keeps it for you for a few days.\n\n"
        "{% if customer.points is not none %}Every pound earns points from the first "
        "order.{% endif %}",
        "/shop",
        "Find something",
    ),
]

ABANDONED_CART = [
    _m(
        "classic-cart-1",
        "Abandoned cart 1: still in your basket",
        "You left something in your basket",
        f"{HI}\n\n"
        "Your basket is saved on every device, and in our app, just as you left it:"
        "{% for line in cart.lines %}\n{{ line.quantity }} x {{ line.name }}{% endfor %}\n\n"
        "We can't hold stock forever, so if you still want it, it's one tap away.",
        "/shop/basket",
        "Back to my basket",
    ),
    _m(
        "classic-cart-2",
        "Abandoned cart 2: reminder (push)",
        "Still thinking it over?",
        "Your basket is waiting{% if cart.lines %}: {{ cart.lines[0].name }}"
        "{% if cart.lines | length > 1 %} and {{ cart.lines | length - 1 }} more{% endif %}"
        "{% endif %}. Collect in store or have it delivered.",
        "/shop/basket",
        "Open basket",
    ),
    _m(
        "classic-cart-3",
        "Abandoned cart 3: last call",
        "Last call for your basket",
        f"{HI}\n\n"
        "A last nudge before the items in your basket go back on the shelf. Order now and "
        "pick it up from {% if store.name %}{{ store.name }}{% else %}your store{% endif %}, "
        "or choose delivery.",
        "/shop/basket",
        "Finish my order",
    ),
]

BROWSE = [
    _m(
        "classic-browse-1",
        "Browse abandonment: still looking?",
        f"Still thinking about {PRODUCT}?",
        f"{HI}\n\n"
        f"You were looking at {PRODUCT}{PRICE}. "
        "{% if store.available %}Good news: {{ store.name }} has {{ store.available }} on the "
        "shelf right now.{% else %}It's ready to order for delivery or collection.{% endif %}"
        f"\n\n{BUY_AGAIN}",
        "/shop",
        "Take another look",
    ),
]

BACK_IN_STOCK = [
    _m(
        "classic-back-in-stock",
        "Back in stock at your store",
        f"It's back: {PRODUCT}",
        f"{HI}\n\n"
        f"You asked us to tell you: {PRODUCT} is back in stock at "
        "{% if store.name %}{{ store.name }}{% else %}your store{% endif %}"
        "{% if store.available %} ({{ store.available }} on the shelf right now){% endif %}.\n\n"
        "It went quickly last time. Reserve it online and collect it today, or pop in.",
        "/shop",
        "Reserve mine",
    ),
]

PRICE_DROP = [
    _m(
        "classic-price-drop-1",
        "Price drop",
        f"Price drop on {PRODUCT}",
        f"{HI}\n\n"
        f"Good timing: {PRODUCT} you had your eye on is now cheaper"
        "{% if event.old_price %}, down from {{ event.old_price | money(event.currency) }} to "
        "{{ event.new_price | money(event.currency) }}{% endif %}.\n\n"
        "Prices like this don't always last. Order for delivery or collect from your store.",
        "/shop",
        "See the new price",
    ),
    _m(
        "classic-price-drop-2",
        "Price drop reminder (push)",
        f"{PRODUCT} is still at the lower price",
        f"The price of {PRODUCT} is still down{PRICE}. It's in your basket whenever you're ready.",
        "/shop/basket",
        "Open basket",
    ),
]

WIN_BACK = [
    _m(
        "classic-winback-1",
        "Win-back: we miss you",
        "{% if customer.first_name %}{{ customer.first_name }}, w{% else %}W{% endif %}e've "
        "missed you: 15% off your next order",
        f"{HI}\n\n"
        "It's been a while. To welcome you back, here's 15% off your next order, online or "
        "at the till in any store"
        "{% if coupon.code %}: use code {{ coupon.code }} (valid for 30 days){% endif %}.\n\n"
        f"{BUY_AGAIN}",
        "/shop",
        "Use my 15% off",
    ),
    _m(
        "classic-winback-2",
        "Win-back: coupon reminder",
        "Your 15% off ends soon",
        f"{HI} a quick reminder that your 15% off "
        "{% if coupon.code %}(code {{ coupon.code }}) {% endif %}ends in a few days. "
        "Show the code at the till or enter it at checkout.",
        "/shop",
        "Shop now",
    ),
]

BIRTHDAY = [
    _m(
        "classic-birthday-1",
        "Birthday coupon",
        "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}{% endif %}! "
        "A treat from us",
        f"{HI}\n\n"
        "Happy birthday from all of us. Here's 10% off anything you like this month"
        "{% if coupon.code %}: your code is {{ coupon.code }}{% endif %}. Use it online or "
        "show it at the till in any store.\n\n"
        "{% if customer.tier %}As a {{ customer.tier }} member you'll earn your usual points "
        "on top.{% endif %}",
        "/shop",
        "Treat myself",
    ),
    _m(
        "classic-birthday-2",
        "Birthday coupon reminder",
        "Your birthday treat ends soon",
        f"{HI} your birthday 10% off "
        "{% if coupon.code %}(code {{ coupon.code }}) {% endif %}is still waiting and ends in "
        "ten days. Online or in store, it's yours.",
        "/shop",
        "Use my treat",
    ),
]

POST_PURCHASE = [
    _m(
        "classic-care",
        "Post-purchase care",
        "Getting the most from your order",
        f"{HI}\n\n"
        "We hope your order{% if event.order %} {{ event.order }}{% endif %} arrived just as "
        "you wanted. A few tips: keep the receipt (it's also in your account), check the care "
        "label before the first wash or use, and if anything isn't right, any of our stores "
        "can help, whichever way you bought.\n\n"
        f"{BUY_AGAIN}",
        "/account/orders",
        "View my order",
    ),
    _m(
        "classic-review",
        "Post-purchase review request",
        "How are you getting on with your order?",
        f"{HI}\n\n"
        "You've had a couple of weeks with your order. Would you tell other shoppers what you "
        "think? It takes a minute, and honest reviews, good or bad, help us choose what we "
        "stock.",
        "/account/orders",
        "Write a review",
    ),
]

TIER_UP = [
    _m(
        "classic-tier-up",
        "Loyalty tier up",
        "Welcome to {% if customer.tier %}{{ customer.tier }}{% else %}your new tier{% endif %}!",
        f"{HI}\n\n"
        "Your shopping has moved you up to "
        "{% if customer.tier %}{{ customer.tier }}{% else %}a new tier{% endif %}. From now on "
        "every pound earns more points, online and in store."
        "{% if customer.points %} You have {{ customer.points }} points to spend.{% endif %}"
        "\n\nThank you for shopping with us.",
        "/account",
        "See my benefits",
    ),
]
