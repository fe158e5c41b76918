"""Help > About Cielo: versions, catalog, model bundle, licences and data attributions."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.about import AboutInfo
from app.ui.i18n import tr


def about_html(info: AboutInfo) -> str:
    """The dialog's summary as rich text (the NOTICE goes in its own box)."""
    unknown = tr("unknown")
    rows = [(tr("about_edition"), info.edition or unknown)]
    if info.bundle is not None:
        rows.append((tr("about_model"), f"{info.bundle.label} ({info.bundle.quantization}, "
                                        f"{info.bundle.dim} dim)"))
        rows.append((tr("about_base_model"), f"{info.bundle.base_model} — "
                                             f"{info.bundle.base_source}"))
    else:
        rows.append((tr("about_model"), tr("model_missing")))
    components = [*info.components, ("Qt", qVersion())]
    rows.append((tr("about_components"),
                 ", ".join(f"{name} {version or unknown}" for name, version in components)))
    table = "".join(
        f"<tr><td style='padding-right:12px'><b>{html.escape(k)}</b></td>"
        f"<td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return (
        f"<h2>Cielo</h2><p>{html.escape(tr('about_tagline'))}<br>"
        f"{html.escape(tr('about_version', version=info.app_version))}</p><table>{table}</table>"
    )


class AboutDialog(QDialog):
    """Shows an :class:`AboutInfo`; the ``NOTICE`` text is selectable for copying."""

    def __init__(self, info: AboutInfo, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle(tr("about_title"))
        self.resize(720, 560)
        layout = QVBoxLayout(self)
        self.summary = QLabel(about_html(info))
        self.summary.setObjectName("about_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QPlainTextEdit(info.notice or tr("about_no_notice"))
        self.notice.setObjectName("about_notice")
        self.notice.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel(f"<b>{html.escape(tr('about_licences'))}</b>"))
        layout.addWidget(self.notice, 1)
        layout.addWidget(buttons)
