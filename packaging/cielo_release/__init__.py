"""Release tooling of Cielo: freeze, package, describe (SBOM, notices), sign and smoke-test.

Run through ``python packaging/make.py``; nothing here is imported by the app.
"""
