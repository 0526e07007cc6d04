"""Local fake servers that speak the outside providers' protocols (no mocks where a real
HTTP exchange can run): used by the tests and by the benches in ``bench/``."""
