def test_the_demo_customer_is_one_profile_with_one_balance_and_every_role_signs_in(
    container, client, hasher
):
    from omniretail.demo.people import set_up_people
    from omniretail.kernel.vault import vault_for
    from tests.factories import make_network

    make_network(container)
    with container.uow() as uow:
        people = set_up_people(uow, vault=vault_for(container.keyring), store_code="LON1")
    with container.uow() as uow:
        again = set_up_people(uow, vault=vault_for(container.keyring), store_code="LON1")
    assert again.customer_id == people.customer_id
    # welcome 100 on each profile + 64 online + 35 in store, all in one balance
    assert (people.account.available, len(people.account.accounts)) == (299, 2)
    for role, username, password in people.sign_ins:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert (r.status_code, r.json()["role"]) == (200, role)
    view = client.get(f"/api/v1/customers/{people.customer_id}/360").json()
    assert sorted(s["channel"] for s in view["spend_by_channel"]) == ["POS", "WEB"]
    assert view["loyalty"]["available"] == 299


def test_demo_passwords_are_random_per_account_shown_once_and_can_be_renewed(
    container, client, hasher
):
    """No fixed shared password: each account gets its own at set-up (a second set-up shows
    none, as only hashes are stored); ``new_passwords`` replaces them, ending the old ones."""
    from omniretail.demo.people import new_passwords, set_up_people
    from omniretail.kernel.vault import vault_for
    from tests.factories import make_network

    make_network(container)
    vault = vault_for(container.keyring)
    with container.uow() as uow:
        first = set_up_people(uow, vault=vault, store_code="LON1").sign_ins
    with container.uow() as uow:
        again = set_up_people(uow, vault=vault, store_code="LON1").sign_ins
    passwords = [p for _r, _u, p in first]
    assert len(set(passwords)) == len(passwords) == 5
    assert all(p is not None and len(p) >= 16 for p in passwords)
    assert [p for _r, _u, p in again] == [None] * 5
    with container.uow() as uow:
        fresh = new_passwords(uow, vault=vault)
    assert [(r, u) for r, u, _p in fresh] == [(r, u) for r, u, _p in first]
    for (_r, username, old), (_r2, _u, new) in zip(first, fresh, strict=True):
        refused = client.post("/api/v1/auth/token", data={"username": username, "password": old})
        assert refused.status_code == 401
        r = client.post("/api/v1/auth/token", data={"username": username, "password": new})
        assert r.status_code == 200
