"""Runs the seed's test_e2e.py test function against UVIS_BASE_URL; exits non-zero if it fails."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import test_e2e  # noqa: E402

test_e2e.test_order_to_dispatch_flow()
print("seed test_order_to_dispatch_flow passed")
