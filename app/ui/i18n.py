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
    "confidence": {"es": "confianza {level}", "en": "{level} confidence"},
    "confidence_tip": {
        "es": "Probabilidad calibrada de que sea el código correcto: {p:.0%}",
        "en": "Calibrated probability that this is the right code: {p:.0%}",
    },
    "completion_read": {
        "es": "código completo: {code} ({meaning}), según «{cues}»",
        "en": "full code: {code} ({meaning}), from “{cues}”",
    },
    "completion_default": {
        "es": "código completo por defecto: {code} ({meaning}); vea los 7º caracteres",
        "en": "default full code: {code} ({meaning}); see the 7th characters",
    },
    "differs_from": {"es": "frente a {code} ({aspect}): {this} / {other}",
                     "en": "vs {code} ({aspect}): {this} / {other}"},
    "aspect_laterality": {"es": "lateralidad", "en": "laterality"},
    "aspect_episode": {"es": "episodio", "en": "episode"},
    "aspect_acuity": {"es": "agudo/crónico", "en": "acuity"},
    "aspect_complication": {"es": "complicación", "en": "complication"},
    "aspect_severity": {"es": "gravedad", "en": "severity"},
    "aspect_other": {"es": "otra diferencia", "en": "other difference"},
    "level_alta": {"es": "alta", "en": "high"},
    "level_media": {"es": "media", "en": "medium"},
    "level_baja": {"es": "baja", "en": "low"},
    "category_title": {"es": "título de la categoría", "en": "category title"},
    "category_title_of": {"es": "título de la categoría {code}", "en": "title of category {code}"},
    "no_results": {"es": "Sin resultados", "en": "No results"},
    "n_results": {"es": "{n} resultados", "en": "{n} results"},
    "searching": {"es": "Buscando…", "en": "Searching…"},
    "did_you_mean": {
        "es": "¿Quería decir «{text}»? (buscado también)",
        "en": "Did you mean “{text}”? (searched too)",
    },
    "lay_term": {"es": "«{term}» = {clinical}", "en": "“{term}” = {clinical}"},
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
    "seventh_of_code": {
        "es": "7º carácter {char}: {meaning}", "en": "7th character {char}: {meaning}"},
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
    "all_chapters": {"es": "Todos los capítulos", "en": "All chapters"},
    "chapter_option": {"es": "Capítulo {code}: {title}", "en": "Chapter {code}: {title}"},
    "model_status": {"es": "Modelo: {model} · {mode}", "en": "Model: {model} · {mode}"},
    "model_missing": {"es": "sin modelo", "en": "no model"},
    "search_hybrid": {"es": "búsqueda híbrida", "en": "hybrid search"},
    "search_lexical": {"es": "solo léxica", "en": "lexical only"},
    "search_ranked": {"es": "ordenación aprendida", "en": "learned ranking"},
    "dense_off": {
        "es": "Búsqueda semántica desactivada (se busca por palabras y alias): {reason}",
        "en": "Semantic search is off (searching by words and aliases): {reason}",
    },
    "menu_import": {"es": "&Importar catálogo…", "en": "&Import catalog…"},
    "menu_help": {"es": "A&yuda", "en": "&Help"},
    "menu_about": {"es": "&Acerca de Cielo", "en": "&About Cielo"},
    "about_title": {"es": "Acerca de Cielo", "en": "About Cielo"},
    "about_tagline": {
        "es": "Codificación CIE-10-ES sin conexión", "en": "Offline ICD-10-CM coding"},
    "about_version": {"es": "Versión {version}", "en": "Version {version}"},
    "about_edition": {"es": "Catálogo activo", "en": "Active catalog"},
    "about_model": {"es": "Modelo", "en": "Model"},
    "about_base_model": {"es": "Modelo base", "en": "Base model"},
    "about_components": {"es": "Componentes", "en": "Components"},
    "about_licences": {"es": "Licencias y atribuciones", "en": "Licences and attributions"},
    "about_no_notice": {
        "es": "No se encuentra el archivo NOTICE con las licencias; pida a Informática que "
        "reinstale Cielo.",
        "en": "The NOTICE file with the licences is missing; ask IT to reinstall Cielo.",
    },
    "unknown": {"es": "desconocido", "en": "unknown"},
    "import_title": {"es": "Importar catálogo", "en": "Import catalog"},
    "import_filter": {
        "es": "Catálogos (*.tsv *.csv *.txt *.xml);;Todos los archivos (*)",
        "en": "Catalogs (*.tsv *.csv *.txt *.xml);;All files (*)",
    },
    "import_file": {"es": "Archivo:", "en": "File:"},
    "import_edition": {"es": "Nombre de la edición:", "en": "Edition name:"},
    "import_encoding": {"es": "Codificación (TSV/CSV):", "en": "Encoding (TSV/CSV):"},
    "import_hint": {
        "es": "Lista de códigos TSV/CSV (código, español[, inglés]) o XML tabular de la "
        "CIE-10-CM. El archivo se valida entero antes de activarlo.",
        "en": "TSV/CSV code list (code, spanish[, english]) or ICD-10-CM tabular XML. The "
        "file is validated in full before it is activated.",
    },
    "import_running": {"es": "Importando el catálogo…", "en": "Importing the catalog…"},
    "import_building": {
        "es": "Importando el catálogo: {stage}", "en": "Importing the catalog: {stage}"},
    "import_done": {
        "es": "Catálogo {edition} importado y activo",
        "en": "Catalog {edition} imported and active",
    },
    "import_failed": {
        "es": "El catálogo no se ha importado. Se sigue usando el catálogo {edition}, sin "
        "cambios.\n\n{error}",
        "en": "The catalog was not imported. Catalog {edition} is still in use, unchanged."
        "\n\n{error}",
    },
    "import_errors": {
        "es": "El archivo tiene {n} error(es):", "en": "The file has {n} error(s):"},
    "import_line": {"es": "línea {line}: {error}", "en": "line {line}: {error}"},
    "reopen_failed": {
        "es": "El catálogo se importó, pero no se puede abrir; se sigue usando {edition} hasta "
        "reiniciar Cielo.\n\n{error}",
        "en": "The catalog was imported but cannot be opened; {edition} stays in use until "
        "Cielo restarts.\n\n{error}",
    },
    # -- document mode --
    "tab_document": {"es": "Documento", "en": "Document"},
    "doc_placeholder": {
        "es": "Pegue aquí una nota clínica (informe de alta, evolución…). Cielo busca las "
        "menciones diagnósticas y propone códigos. El texto no se guarda.",
        "en": "Paste a clinical note here (discharge summary, progress note…). Cielo finds "
        "the diagnostic mentions and proposes codes. The text is not saved.",
    },
    "doc_analyse": {"es": "Analizar", "en": "Analyse"},
    "doc_analyse_tip": {
        "es": "Analizar la nota (Ctrl+Intro)", "en": "Analyse the note (Ctrl+Enter)"},
    "doc_export": {"es": "Exportar CSV…", "en": "Export CSV…"},
    "doc_accept": {"es": "Aceptar (A)", "en": "Accept (A)"},
    "doc_reject": {"es": "Rechazar (R)", "en": "Reject (R)"},
    "doc_keys_hint": {
        "es": "↑↓ mención · C cambiar código", "en": "↑↓ mention · C change code"},
    "doc_col_mention": {"es": "Mención", "en": "Mention"},
    "doc_col_negated": {"es": "Negación", "en": "Negation"},
    "doc_col_status": {"es": "Estado", "en": "Status"},
    "doc_accepted": {"es": "✓ Aceptada", "en": "✓ Accepted"},
    "doc_rejected": {"es": "✗ Rechazada", "en": "✗ Rejected"},
    "doc_negated_by": {"es": "negada («{cue}»)", "en": "negated (“{cue}”)"},
    "doc_uncertain_by": {"es": "incierta («{cue}»)", "en": "uncertain (“{cue}”)"},
    "doc_no_code": {"es": "(sin código propuesto)", "en": "(no code proposed)"},
    "doc_checking": {"es": "Comprobando…", "en": "Checking…"},
    "doc_code_unknown": {
        "es": "{code}: no existe en el catálogo", "en": "{code}: not in the catalog"},
    "doc_unknown_rejected": {
        "es": "{code} no existe en el catálogo: mención rechazada",
        "en": "{code} is not in the catalog: mention rejected",
    },
    "doc_cannot_accept": {
        "es": "Para aceptar, elija o escriba un código del catálogo",
        "en": "To accept, choose or type a catalog code",
    },
    "doc_analysing": {"es": "Analizando…", "en": "Analysing…"},
    "doc_waiting": {
        "es": "El análisis empezará cuando el catálogo esté abierto…",
        "en": "The analysis will start once the catalog is open…",
    },
    "doc_changed": {
        "es": "El texto ha cambiado: volviendo a analizar…",
        "en": "The text changed: analysing again…",
    },
    "doc_failed": {"es": "Error en el análisis: {error}", "en": "Analysis failed: {error}"},
    "doc_not_text": {
        "es": "Esto no es texto (¿un archivo binario?), no se analiza: {reason}",
        "en": "This is not text (a binary file?), not analysed: {reason}",
    },
    "doc_no_mentions": {
        "es": "No se encontraron menciones diagnósticas", "en": "No diagnostic mentions found"},
    "doc_summary": {
        "es": "{n} menciones · {accepted} aceptadas · {negated} negadas",
        "en": "{n} mentions · {accepted} accepted · {negated} negated",
    },
    "doc_truncated": {
        "es": "nota demasiado larga: solo se analizan los primeros {n} caracteres",
        "en": "note too long: only the first {n} characters are analysed",
    },
    "doc_nothing_accepted": {
        "es": "No hay menciones aceptadas que exportar", "en": "No accepted mentions to export"},
    "doc_export_title": {
        "es": "Exportar los códigos aceptados", "en": "Export the accepted codes"},
    "doc_export_default": {"es": "codigos.csv", "en": "codes.csv"},
    "doc_csv_filter": {"es": "CSV (*.csv)", "en": "CSV (*.csv)"},
    "doc_exported": {"es": "{n} filas exportadas a {path}", "en": "{n} rows exported to {path}"},
    "doc_export_failed": {
        "es": "No se pudo exportar: {error}", "en": "Could not export: {error}"},
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


def pick(es: str | None, en: str) -> str:
    """``es`` in the Spanish interface when there is one, else ``en`` (a CIE-10-ES phrase
    or its ICD-10-CM English)."""
    return es if es and _language == "es" else en


def tr(key: str, **values: object) -> str:
    """The string ``key`` in the current language, formatted with ``values``.

    Example: ``tr("n_results", n=3) == "3 resultados"``
    """
    entry = STRINGS[key]
    text = entry.get(_language) or entry["es"]
    return text.format(**values) if values else text
