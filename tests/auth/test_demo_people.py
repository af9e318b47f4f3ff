def test_the_demo_customer_is_one_profile_with_one_balance_and_every_role_signs_in(
    container, client
):
    from omniretail.auth.demo import set_up_people
    from omniretail.customers.crypto import vault_for
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
