"""UI strings: Spanish first, English available (a small dict-based table, no Qt)."""

from __future__ import annotations

_language = "es"

STRINGS: dict[str, dict[str, str]] = {
    "window_title": {"es": "Cielo — codificación CIE-10-ES", "en": "Cielo — ICD-10-CM coding"},
    "search_placeholder": {
        "es": "Escriba un diagnóstico o un código (Ctrl+L)",
        "en": "Type a diagnosis or a code (Ctrl+L)",
    },
    "valid": {"es": "válido", "en": "valid"},
    "not_valid": {"es": "no válido", "en": "not valid"},
    "chapter": {"es": "cap. {chapter}", "en": "ch. {chapter}"},
    "category_title": {"es": "título de la categoría", "en": "category title"},
    "category_title_of": {"es": "título de la categoría {code}", "en": "title of category {code}"},
    "no_results": {"es": "Sin resultados", "en": "No results"},
    "n_results": {"es": "{n} resultados", "en": "{n} results"},
    "searching": {"es": "Buscando…", "en": "Searching…"},
    "loading_catalog": {"es": "Abriendo el catálogo…", "en": "Opening the catalog…"},
    "building_catalog": {
        "es": "Preparando el catálogo (solo la primera vez): {stage}",
        "en": "Preparing the catalog (first run only): {stage}",
    },
    "edition": {"es": "Catálogo: {edition}", "en": "Catalog: {edition}"},
    "catalog_error_title": {"es": "No se puede abrir el catálogo", "en": "Cannot open the catalog"},
    "catalog_error_body": {
        "es": "El catálogo de códigos falta o está dañado:\n{error}\n\nCómo arreglarlo: "
        "cierre Cielo y ejecute «cielo catalog build» en una terminal (o pida a Informática "
        "que reinstale Cielo); después vuelva a abrirlo.",
        "en": "The code catalog is missing or damaged:\n{error}\n\nHow to fix it: close Cielo "
        "and run “cielo catalog build” in a terminal (or ask IT to reinstall Cielo); then "
        "open it again.",
    },
    "search_failed": {"es": "Error en la búsqueda: {error}", "en": "Search failed: {error}"},
    "copied": {"es": "Copiado: {text}", "en": "Copied: {text}"},
    "details_empty": {
        "es": "Seleccione un resultado para ver sus detalles.",
        "en": "Select a result to see its details.",
    },
    "title_es": {"es": "Español", "en": "Spanish"},
    "title_en": {"es": "Inglés", "en": "English"},
    "no_spanish": {"es": "(sin título en español)", "en": "(no Spanish title)"},
    "valid_long": {"es": "Válido para facturación", "en": "Valid for submission"},
    "not_valid_long": {
        "es": "No válido para facturación: elija un código más específico",
        "en": "Not valid for submission: choose a more specific code",
    },
    "valid_descendants": {"es": "Códigos válidos", "en": "Valid codes"},
    "children": {"es": "Subcódigos", "en": "Children"},
    "seventh": {"es": "7º carácter", "en": "7th character"},
    "seventh_pick": {"es": "Elija el 7º carácter…", "en": "Pick the 7th character…"},
    "full_code": {"es": "Código completo: {code}", "en": "Full code: {code}"},
    "go": {"es": "Abrir", "en": "Open"},
    "copy": {"es": "Copiar", "en": "Copy"},
    "favourite_add": {"es": "Añadir a favoritos", "en": "Add to favourites"},
    "favourite_remove": {"es": "Quitar de favoritos", "en": "Remove from favourites"},
    "inherited_from": {"es": "de {code}", "en": "from {code}"},
    "menu_file": {"es": "&Archivo", "en": "&File"},
    "menu_quit": {"es": "&Salir", "en": "&Quit"},
    "menu_favourites": {"es": "&Favoritos", "en": "F&avourites"},
    "menu_history": {"es": "&Historial", "en": "&History"},
    "menu_view": {"es": "&Ver", "en": "&View"},
    "history_on": {"es": "Guardar historial", "en": "Keep history"},
    "history_purge": {"es": "Borrar el historial…", "en": "Purge history…"},
    "history_purge_confirm": {
        "es": "¿Borrar todo el historial de búsquedas y códigos consultados?",
        "en": "Delete the whole search and code history?",
    },
    "history_purged": {"es": "Historial borrado", "en": "History purged"},
    "history_empty": {"es": "(vacío)", "en": "(empty)"},
    "favourites_empty": {"es": "(ninguno)", "en": "(none)"},
    "language_en": {"es": "Interfaz en inglés", "en": "English interface"},
    "tab_search": {"es": "Búsqueda", "en": "Search"},
    "tab_browse": {"es": "Explorar", "en": "Browse"},
    "valid_only": {"es": "Solo códigos válidos", "en": "Valid codes only"},
    "code_column": {"es": "Código", "en": "Code"},
    "title_column": {"es": "Título", "en": "Title"},
    "note_inclusion_term": {"es": "Términos de inclusión", "en": "Inclusion terms"},
    "note_includes": {"es": "Incluye", "en": "Includes"},
    "note_excludes1": {"es": "Excluye 1", "en": "Excludes1"},
    "note_excludes2": {"es": "Excluye 2", "en": "Excludes2"},
    "note_code_first": {"es": "Codifique primero", "en": "Code first"},
    "note_use_additional_code": {
        "es": "Utilice código adicional", "en": "Use additional code"},
    "note_code_also": {"es": "Codifique también", "en": "Code also"},
    "note_notes": {"es": "Notas", "en": "Notes"},
    "note_seven_chr_note": {"es": "Nota del 7º carácter", "en": "7th character note"},
}


def set_language(language: str) -> None:
    """Switch the UI language (``"es"`` or ``"en"``) for strings looked up afterwards."""
    global _language
    if language not in ("es", "en"):
        raise ValueError(f"language must be 'es' or 'en', not {language!r}")
    _language = language


def language() -> str:
    """The current UI language."""
    return _language


def tr(key: str, **values: object) -> str:
    """The string ``key`` in the current language, formatted with ``values``.

    Example: ``tr("n_results", n=3) == "3 resultados"``
    """
    entry = STRINGS[key]
    text = entry.get(_language) or entry["es"]
    return text.format(**values) if values else text
