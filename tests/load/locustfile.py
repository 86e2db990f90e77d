from locust import HttpUser, task, between

class UVISUser(HttpUser):
    wait_time = between(1, 3)
    
    def on_start(self):
        """로그인"""
        response = self.client.post("/api/v1/auth/login", data={
            "username": "test@example.com",
            "password": "testpass"
        })
        self.token = response.json()["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
    
    @task(3)
    def view_dispatches(self):
        """배차 목록 조회"""
        self.client.get(
            "/api/v1/mobile/dispatches",
            headers=self.headers
        )
    
    @task(2)
    def view_dashboard(self):
        """대시보드 조회"""
        self.client.get(
            "/api/v1/mobile/summary",
            headers=self.headers
        )
    
    @task(1)
    def update_location(self):
        """위치 업데이트"""
        self.client.post(
            "/api/v1/mobile/location",
            json={"latitude": 37.5665, "longitude": 126.9780},
            headers=self.headers
        )
