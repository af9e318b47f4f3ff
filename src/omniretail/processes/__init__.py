"""Cross-domain read models and use cases: the customer 360, GDPR export and erasure, undoing
a merge, the product views. They compose several domains, so they sit above all of them; the
routes are in ``api``, the functions here are what the console and the CLI call directly."""
