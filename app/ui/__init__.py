"""The PySide6 desktop application (views build widgets, controllers own behaviour).

Nothing here holds search logic: controllers call ``app.search.pipeline`` and
``app.catalog.store`` on a ``QThreadPool`` through :mod:`app.ui.worker`.
"""
