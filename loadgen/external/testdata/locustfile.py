import locust.runners
from locust import FastHttpUser, task, constant

# Debian bookworm's python3-locust (2.12.1) reports an empty version, and its master
# then refuses every worker as "pre 2.0": give both sides the same non-empty one.
if not locust.runners.__version__:
    locust.runners.__version__ = "2.12.1"


class Visitor(FastHttpUser):
    wait_time = constant(0)

    @task(3)
    def hello(self):
        self.client.get("/")

    @task(1)
    def alloc(self):
        self.client.get("/alloc?count=10&size=256")
