from tests.factories import make_network, receive


def test_reserve_and_sell_through_the_api(container, client):
    make_network(container)
    receive(container, "10001", "LON1", 3)
    r = client.post(
        "/api/v1/inventory/reservations",
        json={"sku": "10001", "location": "LON1", "channel": "WEB", "quantity": 2},
    )
    assert r.status_code == 201, r.text
    hold = r.json()
    r = client.post(f"/api/v1/inventory/reservations/{hold['id']}/sell")
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/inventory/stock/10001/LON1")
    assert r.json()["on_hand"] == 1
    r = client.get("/api/v1/inventory/verify")
    assert r.json()["drift"] == []
