import pytest
from fastapi.testclient import TestClient
from main import app

client = TestClient(app)

def test_order_to_dispatch_flow():
    """주문 상성 → 배차 → 완료 전체 플로우 테스트"""
    
    # 1. 로그인
    login_response = client.post("/api/v1/auth/login", data={
        "username": "test@example.com",
        "password": "testpass"
    })
    assert login_response.status_code == 200
    token = login_response.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    
    # 2. 주문 상성
    order_data = {
        "client_id": 1,
        "pickup_address": "서울시 강남구",
        "delivery_address": "부산시 해운대구",
        "cargo_type": "냉장",
        "weight": 100.0
    }
    order_response = client.post(
        "/api/v1/orders",
        json=order_data,
        headers=headers
    )
    assert order_response.status_code == 201
    order_id = order_response.json()["id"]
    
    # 3. 배차 상성
    dispatch_data = {
        "order_id": order_id,
        "vehicle_id": 1,
        "driver_id": 1
    }
    dispatch_response = client.post(
        "/api/v1/dispatches",
        json=dispatch_data,
        headers=headers
    )
    assert dispatch_response.status_code == 201
    dispatch_id = dispatch_response.json()["id"]
    
    # 4. 배차 상태 업데이트
    status_response = client.put(
        f"/api/v1/mobile/dispatches/{dispatch_id}/status",
        json={"status": "COMPLETED"},
        headers=headers
    )
    assert status_response.status_code == 200
    
    # 5. 주문 상태 확인
    order_check = client.get(
        f"/api/v1/orders/{order_id}",
        headers=headers
    )
    assert order_check.json()["status"] == "COMPLETED"
