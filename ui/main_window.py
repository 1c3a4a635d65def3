"""The mediaseek window: search field and filters on top, library sidebar, result grid, preview,
and indexing progress in the status bar.

The window owns no logic of its own beyond wiring: searching is ``SearchController``, indexing is
``IndexingController``, everything that reads the library runs through the task runner, and the
library itself (``app.library.Library``) is the only thing that touches the database or models.
"""
from __future__ import annotations

import logging
import os
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.errors import MediaseekError
from app.library import Library
from app.thumbnails import ThumbnailCache
from ui import desktop
from ui.compat import guard_pyside_refcounts
from ui.failures import FailuresDialog
from ui.filter_bar import FilterBar
from ui.first_run import EmptyStatePage, ModelSetupDialog
from ui.icons import app_icon, magnifier_icon, mix, themed
from ui.index_status import IndexStatusWidget
from ui.indexing import IndexingController
from ui.preview import PreviewPane
from ui.results_model import ResultsModel
from ui.results_view import ResultsView
from app.browse import folder_progress
from ui.actions import ResultActions
from ui.browse import BrowseController
from ui.search import SearchController
from ui.settings import GuiSettings
from ui.sidebar import LibrarySidebar
from ui import heap
from ui.tasks import TaskRunner
from ui.text_setting import read_text_action
from ui.viewer import Viewer
from ui.thumbnail_loader import ThumbnailLoader
from ui.widgets import MessageBar, ScopeChip, WeakerBar
from ui.window_actions import ActionsMixin
from ui.window_browse import BrowseMixin
from ui.window_folders import FoldersMixin
from ui.window_pages import PagesMixin
from ui.window_search import SearchMixin
from ui.window_state import PAGE_HINT, PAGE_NO_MODEL, LibrarySnapshot  # noqa: F401 - re-exported for tests

log = logging.getLogger(__name__)

MEDIA_SUFFIXES = frozenset({
    ".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp", ".gif", ".avif",
    ".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".3gp",
})

class MainWindow(PagesMixin, SearchMixin, BrowseMixin, ActionsMixin, FoldersMixin, QMainWindow):
    library_loaded = Signal(object)  # LibrarySnapshot
    status_written = Signal()

    def __init__(self, library: Library, runner: TaskRunner | None = None, settings: GuiSettings | None = None,
                 status_file: str | None = None) -> None:
        super().__init__()
        guard_pyside_refcounts()
        self.library = library
        self.runner = runner or TaskRunner(self)
        self.settings = settings or GuiSettings(library.paths.data / "gui.ini")
        self.status_file = status_file
        self.snapshot: LibrarySnapshot | None = None
        self.scope: str | None = None
        self.model_dialog: ModelSetupDialog | None = None
        self.failures_dialog: FailuresDialog | None = None
        self._pending_folder_check: str | None = None
        self._remove_after_indexing: list[str] = []
        self._shown_at: float | None = None
        self._shown_wall: float | None = None
        self._closing = False
        self.duplicates_window = None  # ui.duplicates_view.DuplicatesWindow, made when first shown

        self.setWindowTitle("mediaseek")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.thumbnails = ThumbnailCache(library.paths.thumbnails)
        self.loader = ThumbnailLoader(self.thumbnails, self.runner, self)
        self.search = SearchController(library, self.runner, self)
        self.indexing = IndexingController(library, self.runner, self)
        self.browser = BrowseController(library, self.runner, self)
        self.actions = ResultActions(library, self.runner, lambda text, level, buttons: self._say(text, level, buttons),
                                     self)
        self.context_menu = None
        self.viewer = Viewer(self.thumbnails, self.runner, self)
        self._pending_jump: int | None = None
        self.browse_newest_first = True  # the order chosen while browsing (searches start at best match)
        self._hold_next = False  # the next result list comes from indexing: announce it, don't reflow
        self._held: tuple | None = None
        self._build()
        self._build_menus()
        self._connect()
        self._restore_settings()

    # ====================================================================================
    # construction
    # ====================================================================================
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)

        top = QWidget()
        top.setObjectName("SearchArea")
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(12, 10, 12, 8)
        top_layout.setSpacing(8)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.search_field = QLineEdit()
        self.search_field.setPlaceholderText("Describe what you are looking for, e.g. “dog running on a beach”")
        self.search_field.setClearButtonEnabled(True)
        self.search_icon = self.search_field.addAction(magnifier_icon(self._dim_text_color()),
                                                       QLineEdit.ActionPosition.LeadingPosition)
        self.search_field.setAcceptDrops(False)  # files dropped here search by picture instead
        self.search_field.setMinimumHeight(self.search_field.sizeHint().height() + 6)
        font = self.search_field.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.search_field.setFont(font)
        row.addWidget(self.search_field, 1)
        self.similar_chip = ScopeChip()
        self.similar_chip.clear_button.setToolTip("Stop searching by picture")
        self.similar_chip.icon.setPixmap(themed("edit-find").pixmap(16, 16))
        row.addWidget(self.similar_chip)
        self.scope_chip = ScopeChip()
        row.addWidget(self.scope_chip)
        top_layout.addLayout(row)
        self.filter_bar = FilterBar()
        top_layout.addWidget(self.filter_bar)
        outer.addWidget(top)

        self.message_bar = MessageBar(self)
        message_wrap = QHBoxLayout()
        message_wrap.setContentsMargins(12, 0, 12, 8)
        message_wrap.addWidget(self.message_bar)
        outer.addLayout(message_wrap)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.sidebar = LibrarySidebar()
        self.sidebar.setMinimumWidth(160)
        self.splitter.addWidget(self.sidebar)

        self.pages = QStackedWidget()
        self.no_model_page = EmptyStatePage(
            "Set up a search model", "mediaseek needs a CLIP model to understand pictures. Import one you "
            "have, or download one once; after that everything works offline.", "Set Up a Model…")
        self.welcome_page = EmptyStatePage(
            "Add your photos and videos", "Choose a folder (or drop one on this window). mediaseek indexes it "
            "in the background and never changes or moves your files.", "Add Folder…", themed("folder-new"))
        self.hint_page = EmptyStatePage("Search your library", "", "")
        self.hint_page.button.hide()
        self.model = ResultsModel(self.loader, self)
        self.view = ResultsView()
        self.view.setModel(self.model)
        self.empty_page = EmptyStatePage("No matches", "", "Clear Filters", magnifier_icon(self._dim_text_color()))
        self.results_page = QWidget()
        results_layout = QVBoxLayout(self.results_page)
        results_layout.setContentsMargins(0, 0, 0, 0)
        results_layout.setSpacing(0)
        self.new_bar = WeakerBar()  # "12 new matches — Show": new files never reflow the grid under the pointer
        results_layout.addWidget(self.new_bar)
        results_layout.addWidget(self.view, 1)
        self.weaker_bar = WeakerBar()
        results_layout.addWidget(self.weaker_bar)
        for page in (self.no_model_page, self.welcome_page, self.hint_page, self.results_page, self.empty_page):
            self.pages.addWidget(page)
        self.pages.setCurrentIndex(PAGE_HINT)
        self.splitter.addWidget(self.pages)

        self.preview = PreviewPane(self.library, self.runner, self.thumbnails, self.loader)
        self.splitter.addWidget(self.preview)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([230, 700, 330])
        outer.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.summary = QLabel()
        bar.addWidget(self.summary, 1)
        self.failures_button = QPushButton()
        self.failures_button.setFlat(True)
        self.failures_button.setIcon(themed("dialog-warning"))
        self.failures_button.setToolTip("Files that could not be indexed")
        self.failures_button.hide()
        bar.addPermanentWidget(self.failures_button)
        self.index_status = IndexStatusWidget(self.indexing)
        bar.addPermanentWidget(self.index_status)
        self.resize(1280, 820)

    def show_duplicates(self):
        """Library ▸ Find Duplicates… and the sidebar's button: the Duplicates window for the folder shown."""
        from ui.duplicates_view import open_duplicates

        return open_duplicates(self)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.add_action = QAction(themed("list-add"), "&Add Folder…", self)
        self.add_action.setShortcut(QKeySequence.StandardKey.Open)
        self.add_action.triggered.connect(self.choose_folder)
        file_menu.addAction(self.add_action)
        similar_action = QAction("Search by &Picture…", self)
        similar_action.triggered.connect(self.choose_picture)
        file_menu.addAction(similar_action)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        edit_menu = menu.addMenu("&Edit")
        self.find_action = QAction(themed("edit-find"), "&Find", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self.focus_search)
        edit_menu.addAction(self.find_action)
        self.clear_action = QAction("&Clear Search", self)
        self.clear_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.clear_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.clear_action.triggered.connect(self.clear_search)
        edit_menu.addAction(self.clear_action)
        copy_action = QAction("&Copy Path", self)
        copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        copy_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy_action.triggered.connect(self.copy_selected_paths)
        self.view.addAction(copy_action)
        edit_menu.addAction(copy_action)
        self.undo_action = QAction("&Undo Move to Trash", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.triggered.connect(self.undo)
        edit_menu.insertAction(self.find_action, self.undo_action)
        self.trash_action = QAction(themed("user-trash"), "Move to &Trash", self)
        self.trash_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.trash_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.trash_action.triggered.connect(self.trash_selected)
        self.view.addAction(self.trash_action)
        edit_menu.addAction(self.trash_action)

        view_menu = menu.addMenu("&View")
        self.scores_action = QAction("Show &Scores", self)
        self.scores_action.setCheckable(True)
        self.scores_action.toggled.connect(self.filter_bar.scores.setChecked)
        view_menu.addAction(self.scores_action)
        bigger = QAction("&Larger Thumbnails", self)
        bigger.setShortcut(QKeySequence.StandardKey.ZoomIn)
        bigger.triggered.connect(lambda: self.set_thumb_size(self.view.delegate.thumb_size + 32))
        smaller = QAction("S&maller Thumbnails", self)
        smaller.setShortcut(QKeySequence.StandardKey.ZoomOut)
        smaller.triggered.connect(lambda: self.set_thumb_size(self.view.delegate.thumb_size - 32))
        view_menu.addActions([bigger, smaller])
        view_menu.addSeparator()
        self.preview_action = QAction("Show &Preview", self)
        self.preview_action.setCheckable(True)
        self.preview_action.setChecked(True)
        self.preview_action.setShortcut(QKeySequence("F9"))
        self.preview_action.toggled.connect(self._preview_toggled)
        view_menu.addAction(self.preview_action)

        library_menu = menu.addMenu("&Library")
        self.index_action = QAction(themed("view-refresh"), "&Index Now", self)
        self.index_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.index_action.triggered.connect(lambda: self.start_indexing())
        library_menu.addAction(self.index_action)
        self.failures_action = QAction(themed("dialog-warning"), "Indexing &Problems…", self)
        self.failures_action.triggered.connect(self.show_failures)
        library_menu.addAction(self.failures_action)
        self.duplicates_action = QAction(themed("edit-copy"), "Find &Duplicates…", self)
        self.duplicates_action.triggered.connect(self.show_duplicates)
        library_menu.addAction(self.duplicates_action)
        self.read_text_action = read_text_action(self, self.library, self.start_indexing)
        library_menu.addAction(self.read_text_action)
        library_menu.addSeparator()
        self.models_menu = library_menu.addMenu("&Model")
        self.models_menu.aboutToShow.connect(self._fill_models_menu)

        help_menu = menu.addMenu("&Help")
        about = QAction("&About mediaseek", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _connect(self) -> None:
        self.search_field.textEdited.connect(self.search.set_text)
        self.search_field.returnPressed.connect(self._enter_pressed)
        self.search_field.installEventFilter(self)
        self.search.results_ready.connect(self._results_ready)
        self.search.cleared.connect(self._search_cleared)
        self.search.failed.connect(self._search_failed)
        self.search.state_changed.connect(self._state_changed)
        self.model.more_requested.connect(self._fetch_more)
        self.browser.results_ready.connect(self._browse_ready)
        self.browser.months_ready.connect(self._months_ready)
        self.browser.failed.connect(lambda message: self.message_bar.show_message(message, "error"))
        self.filter_bar.filters_changed.connect(self._browse_filters_changed)
        self.filter_bar.recursive_changed.connect(self._recursive_changed)
        self.filter_bar.jump_requested.connect(self.jump_to_row)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.view.open_requested.connect(self._open_index)
        self.preview.score_text = self.model.score_text
        self.view.view_requested.connect(self.show_viewer)
        self.viewer.closed.connect(self._viewer_closed)
        self.viewer.open_requested.connect(self.open_file)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.actions.similar_requested.connect(self.search_similar)
        self.actions.removed.connect(self._files_removed)
        self.actions.changed.connect(self._files_changed)

        self.filter_bar.filters_changed.connect(self.search.set_filters)
        self.filter_bar.sort_changed.connect(self._sort_changed)
        self.filter_bar.scores_toggled.connect(self._scores_toggled)
        self.filter_bar.cutoff_changed.connect(self._cutoff_changed)
        self.search.weaker_changed.connect(self._weaker_changed)
        self.weaker_bar.toggled.connect(self.search.set_show_weak)

        self.scope_chip.clear_requested.connect(lambda: self.set_scope(None))
        self.similar_chip.clear_requested.connect(self.clear_search)
        self.sidebar.scope_requested.connect(self.set_scope)
        self.sidebar.add_requested.connect(self.choose_folder)
        self.sidebar.remove_requested.connect(self.remove_root)
        self.sidebar.reindex_requested.connect(lambda folder: self.start_indexing([folder]))
        self.sidebar.reveal_requested.connect(desktop.reveal_in_file_manager)
        self.sidebar.duplicates_requested.connect(self.show_duplicates)

        self.preview.open_requested.connect(self.open_file)
        self.preview.reveal_requested.connect(self.actions.reveal)
        self.preview.copy_requested.connect(self._copy_path)
        self.preview.similar_requested.connect(self.search_similar)

        self.no_model_page.action_clicked.connect(self.open_model_setup)
        self.welcome_page.action_clicked.connect(self.choose_folder)
        self.empty_page.action_clicked.connect(self._empty_action)
        self.failures_button.clicked.connect(self.show_failures)

        self.indexing.new_results.connect(self._indexed_more)
        self.new_bar.toggled.connect(lambda _show: self._show_held())
        if self.status_file:
            self._status_timer = QTimer(self)
            self._status_timer.setSingleShot(True)
            self._status_timer.setInterval(200)
            self._status_timer.timeout.connect(self._write_status)
            self.loader.ready.connect(self._status_timer.start)
            self.preview.image_changed.connect(self._status_timer.start)
        self.indexing.finished.connect(self._indexing_finished)
        self.indexing.finished.connect(lambda *_: self.preview.reload_text())  # text read meanwhile

    # ====================================================================================
    # start-up and settings
    # ====================================================================================
    def _restore_settings(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        screen = QGuiApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            if self.settings.geometry is None:
                self.resize(min(1280, int(area.width() * 0.85)), min(820, int(area.height() * 0.85)))
            elif self.width() > area.width() or self.height() > area.height():  # saved on a larger screen
                self.resize(min(self.width(), area.width()), min(self.height(), area.height()))
                self.move(area.topLeft())
        if self.settings.splitter is not None:
            self.splitter.restoreState(self.settings.splitter)
        # sort order and cut-off are per search (a new one starts at best match, with the rule's cut-off)
        self.filter_bar.scores.setChecked(self.settings.show_scores)
        self._scores_toggled(self.settings.show_scores)
        self.view.set_thumb_size(self.settings.thumbnail_size)
        self.preview_action.setChecked(self.settings.show_preview)

    def save_settings(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.splitter = self.splitter.saveState()
        self.settings.scope = self.scope
        self.settings.show_scores = self.filter_bar.scores.isChecked()
        self.settings.thumbnail_size = self.view.delegate.thumb_size
        self.settings.show_preview = self.preview_action.isChecked()
        self.settings.sync()

    def start(self, folder: str | None = None) -> None:
        """After the window is shown: read the library, warm the model, index what changed."""
        has_model = self.library.models.active_name is not None
        if folder:
            self.open_folder(folder)
        elif self.settings.scope and os.path.isdir(self.settings.scope):
            self.set_scope(self.settings.scope)
        self.refresh_library(start_indexing=has_model)
        if has_model:
            self.browse_now()
            self.runner.submit(self.library.warm_up, self._warmed_up, pool="interactive")
        else:
            self._show_page(PAGE_NO_MODEL)
            QTimer.singleShot(0, self.open_model_setup)
        self._write_status()

    def _warmed_up(self, _result, error: BaseException | None) -> None:
        heap.settle()  # start-up's objects are loaded now: full collections stop walking them (ui/heap.py)
        if error is not None:
            log.warning("warm-up failed: %s", error)
            if isinstance(error, MediaseekError):
                self.message_bar.show_message(str(error), "error")

    def refresh_library(self, start_indexing: bool = False) -> None:
        library = self.library

        def job() -> LibrarySnapshot:
            return LibrarySnapshot(library.status(), folder_progress(library.db))

        self.runner.submit(job, lambda snap, err: self._library_loaded(snap, err, start_indexing),
                           pool="interactive", coalesce="library")

    def _library_loaded(self, snapshot: LibrarySnapshot | None, error: BaseException | None,
                        start_indexing: bool) -> None:
        if error is not None or snapshot is None:
            self.message_bar.show_message(f"Cannot read the library: {error}", "error")
            return
        self.snapshot = snapshot
        self.sidebar.set_library(snapshot.roots, snapshot.counts)
        self.sidebar.select_scope(self.scope)
        self._update_summary()
        failed = len(snapshot.failed)
        self.failures_button.setText(f"{failed:,} could not be indexed")
        self.failures_button.setVisible(failed > 0)
        if self.failures_dialog is not None:
            self.failures_dialog.set_failures(snapshot.failed)
        if self._pending_folder_check:
            folder, self._pending_folder_check = self._pending_folder_check, None
            self._offer_to_add(folder)
        self._update_page()
        if start_indexing and snapshot.roots and self.library.models.active_name:
            self.start_indexing()
        self.library_loaded.emit(snapshot)
        self._write_status()

    # ====================================================================================
    # drag and drop
    # ====================================================================================
    @staticmethod
    def _dropped_paths(event) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        paths = self._dropped_paths(event)
        if any(os.path.isdir(p) or os.path.splitext(p)[1].lower() in MEDIA_SUFFIXES for p in paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._dropped_paths(event)
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if os.path.isfile(p)]
        if folders:
            self.add_folders(folders)
        elif files:
            if self.library.models.active_name is None:
                self.open_model_setup()
            else:
                self.search_similar(files[0])
        event.acceptProposedAction()

    # ====================================================================================
    # lifetime
    # ====================================================================================
    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.viewer.isVisible():
            self._place_viewer()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._shown_at is None:
            self._shown_at = time.perf_counter()
            self._shown_wall = time.time()
            if self.settings.splitter is None:
                self.fit_panes()
            QTimer.singleShot(0, self._write_status)

    def fit_panes(self) -> None:
        """Side panes in proportion to the window (first run): on a small screen the grid keeps room
        for three columns instead of two next to a full-width preview."""
        width = self.splitter.width() or self.width()
        side = max(160, min(240, int(width * 0.16)))
        preview = max(240, min(360, int(width * 0.22)))
        self.splitter.setSizes([side, max(200, width - side - preview), preview])

    def _dim_text_color(self):
        palette = self.palette()
        return mix(palette.color(QPalette.ColorRole.Base), palette.color(QPalette.ColorRole.Text), 0.55)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.ActivationChange:
            self._write_status()
        elif event.type() == event.Type.PaletteChange:  # the system switched light/dark
            dim = self._dim_text_color()
            self.search_icon.setIcon(magnifier_icon(dim))
            self.empty_page.icon.setPixmap(magnifier_icon(dim).pixmap(96, 96))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self.save_settings()
            self.viewer.close_viewer()  # a playing video releases its file and decoder threads now
            self.indexing.shutdown()  # stops the indexing process (kills it after a few seconds)
            if self.model_dialog is not None and self.model_dialog.process is not None:
                self.model_dialog.reject()
            if self.failures_dialog is not None:
                self.failures_dialog.close()
            if self.duplicates_window is not None:
                self.duplicates_window.close()
            if not self.runner.shutdown(15_000):
                log.warning("background work still running at exit")
        super().closeEvent(event)
