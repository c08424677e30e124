from tests.admin.conftest import staff, staff_client  # noqa: F401 - the admin's fixtures
