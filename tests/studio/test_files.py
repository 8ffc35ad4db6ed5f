"""Specification of bot.studio.files: which files are editable, and reads and writes that never lose an edit."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bot.studio.errors import EditConflict, FileMissing, NotEditable, PathNotAllowed
from bot.studio.files import LOCK_NAME, EditableFile, FileSource, MemoryFiles, ProjectFiles, classify, version_of

ROOT = Path(__file__).resolve().parents[2]
TREE = {
    "domain.yml": 'version: "3.1"\nintents:\n  - greet\n',
    "config.yml": "language: zh\n",
    "data/nlu/zh/orders.yml": 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - 你好\n',
    "data/nlu/en/orders.yml": 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello\n',
    "data/nlu/entities.yml": 'version: "3.1"\nnlu:\n  - regex: order_id\n    examples: |\n      - [0-9]{12}\n',
    "data/nlu/zh/notes.txt": "not data\n",
    "data/nlu/zh/orders.yaml": "nlu: []\n",
    "data/stories/orders.yml": 'version: "3.1"\nstories: []\n',
    "data/rules/chitchat.yml": 'version: "3.1"\nrules: []\n',
    "data/rules/more/handoff.yml": 'version: "3.1"\nrules: []\n',
    "tests/stories/test_orders_stories.yml": 'version: "3.1"\nstories: []\n',
    "tests/stories/deeper/test_x.yml": 'version: "3.1"\nstories: []\n',
    "tests/nlu/zh.yml": 'version: "3.1"\nnlu: []\n',
}
EDITABLE = [
    EditableFile("data/nlu/en/orders.yml", "nlu", "en"),
    EditableFile("data/nlu/entities.yml", "nlu", None),
    EditableFile("data/nlu/zh/orders.yml", "nlu", "zh"),
    EditableFile("data/rules/chitchat.yml", "rules"),
    EditableFile("data/rules/more/handoff.yml", "rules"),
    EditableFile("data/stories/orders.yml", "stories"),
    EditableFile("domain.yml", "domain"),
    EditableFile("tests/stories/test_orders_stories.yml", "test_stories"),
]
ZH = "data/nlu/zh/orders.yml"


def make_tree(root: Path, tree: dict[str, str]) -> Path:
    for path, text in tree.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode("utf-8"))
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project tree with editable files and non-editable neighbours."""
    return make_tree(tmp_path / "project", TREE)


@pytest.fixture(params=["disk", "memory"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> FileSource:
    """``ProjectFiles`` and its in-memory twin, which must behave alike."""
    editable = {path: text for path, text in TREE.items() if path in {f.path for f in EDITABLE}}
    if request.param == "memory":
        return MemoryFiles(editable)
    return ProjectFiles(make_tree(tmp_path / "project", editable))


class TestClassify:
    """A path names an editable file only in the canonical form of one of the editable places."""

    @pytest.mark.parametrize(("path", "kind", "language"), [
        ("domain.yml", "domain", None),
        ("data/nlu/zh/orders.yml", "nlu", "zh"),
        ("data/nlu/en/chitchat.yml", "nlu", "en"),
        ("data/nlu/zh/promotions/double11.yml", "nlu", "zh"),
        ("data/nlu/entities.yml", "nlu", None),
        ("data/nlu/fr/orders.yml", "nlu", None),
        ("data/stories/orders.yml", "stories", None),
        ("data/stories/after-sales/returns.yml", "stories", None),
        ("data/rules/chitchat.yml", "rules", None),
        ("tests/stories/test_orders_stories.yml", "test_stories", None),
    ])
    def test_editable_paths(self, path: str, kind: str, language: str | None) -> None:
        assert classify(path) == EditableFile(path, kind, language)  # type: ignore[arg-type]

    @pytest.mark.parametrize(("path", "reason"), [
        ("", "empty"),
        ("/etc/passwd.yml", "absolute"),
        ("/work/main/domain.yml", "absolute"),
        ("C:/project/domain.yml", "absolute"),
        ("c:domain.yml", "absolute"),
        ("..\\domain.yml", "backslash"),
        ("data\\nlu\\zh\\orders.yml", "backslash"),
        ("../domain.yml", "parent"),
        ("data/nlu/../../domain.yml", "parent"),
        ("data/nlu/zh/../../../../etc/cron.yml", "parent"),
        ("data/nlu/zh/..", "parent"),
        ("./domain.yml", "not_canonical"),
        ("data//nlu/zh/orders.yml", "not_canonical"),
        ("data/nlu/zh/", "not_canonical"),
        ("data/./nlu/orders.yml", "not_canonical"),
        (".git/config.yml", "hidden"),
        ("data/nlu/zh/.orders.yml", "hidden"),
        ("data/nlu/zh/订单.yml", "bad_name"),
        ("data/nlu/zh/my orders.yml", "bad_name"),
        ("data/nlu/zh/orders.yml\x00.txt", "bad_name"),
        ("data/nlu/zh/orders.yml\n", "bad_name"),
        ("%2e%2e/domain.yml", "bad_name"),
        ("~/domain.yml", "bad_name"),
        ("data/nlu/zh/orders.yaml", "not_yml"),
        ("data/nlu/zh/orders.json", "not_yml"),
        ("data/nlu/zh/orders.YML", "not_yml"),
        ("data/nlu", "not_yml"),
        ("config.yml", "not_editable"),
        ("endpoints.yml", "not_editable"),
        ("credentials.yml", "not_editable"),
        ("tests/nlu/zh.yml", "not_editable"),
        ("tests/stories/deeper/test_x.yml", "not_editable"),
        ("data/nlu.yml", "not_editable"),
        ("data/domain.yml", "not_editable"),
        ("bot/copilot_text.yml", "not_editable"),
        ("models/registry.yml", "not_editable"),
        (".venv/lib/python3.11/site-packages/rasa/x.yml", "hidden"),
    ])
    def test_hostile_and_foreign_paths_are_refused_with_a_reason(self, path: str, reason: str) -> None:
        with pytest.raises(PathNotAllowed) as caught:
            classify(path)
        assert (caught.value.path, caught.value.reason) == (path, reason)
        assert caught.value.facts == {"path": path, "reason": reason}


class TestList:
    """Only editable files are listed, sorted, with their kind and language."""

    def test_lists_exactly_the_editable_files(self, project: Path) -> None:
        assert list(ProjectFiles(project).list()) == EDITABLE

    def test_the_real_project_lists_its_data_but_not_the_held_out_test_set(self) -> None:
        paths = {file.path for file in ProjectFiles(ROOT).list()}
        assert {"domain.yml", "data/nlu/zh/orders.yml", "data/nlu/en/orders.yml", "data/rules/chitchat.yml",
                "tests/stories/test_orders_stories.yml"} <= paths
        assert not {path for path in paths if path.startswith("tests/nlu/") or path == "config.yml"}

    def test_symlinks_are_left_out(self, project: Path, tmp_path: Path) -> None:
        (tmp_path / "outside.yml").write_text("secret: 1\n")
        (project / "data/nlu/zh/escape.yml").symlink_to(tmp_path / "outside.yml")
        (project / "data/nlu/zh/alias.yml").symlink_to(project / "domain.yml")
        (project / "data/stories/linked").symlink_to(tmp_path, target_is_directory=True)
        assert list(ProjectFiles(project).list()) == EDITABLE

    def test_memory_files_list_like_the_disk(self, source: FileSource) -> None:
        assert list(source.list()) == EDITABLE


class TestRead:
    """A read returns the exact text and a content version."""

    def test_text_and_version(self, source: FileSource) -> None:
        read = source.read(ZH)
        assert (read.path, read.text, read.version) == (ZH, TREE[ZH], version_of(TREE[ZH]))

    def test_bytes_are_kept_exactly_including_crlf_and_no_final_newline(self, project: Path) -> None:
        (project / ZH).write_bytes("nlu:\r\n- intent: greet\r\n  examples: |\r\n    - 您好".encode())
        assert ProjectFiles(project).read(ZH).text == "nlu:\r\n- intent: greet\r\n  examples: |\r\n    - 您好"

    def test_a_missing_editable_file(self, source: FileSource) -> None:
        with pytest.raises(FileMissing) as caught:
            source.read("data/nlu/en/handoff.yml")
        assert caught.value.path == "data/nlu/en/handoff.yml"

    @pytest.mark.parametrize("path", ["config.yml", "../domain.yml", "/etc/passwd", "tests/nlu/zh.yml"])
    def test_foreign_paths_are_refused(self, source: FileSource, path: str) -> None:
        with pytest.raises(PathNotAllowed):
            source.read(path)

    def test_a_symlink_escaping_the_root_is_refused(self, project: Path, tmp_path: Path) -> None:
        (tmp_path / "outside.yml").write_text("secret: 1\n")
        (project / "data/nlu/zh/escape.yml").symlink_to(tmp_path / "outside.yml")
        with pytest.raises(PathNotAllowed) as caught:
            ProjectFiles(project).read("data/nlu/zh/escape.yml")
        assert caught.value.reason == "symlink"

    def test_a_symlinked_folder_is_refused(self, project: Path, tmp_path: Path) -> None:
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere/x.yml").write_text("nlu: []\n")
        (project / "data/nlu/fr").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
        with pytest.raises(PathNotAllowed, match="symlink"):
            ProjectFiles(project).read("data/nlu/fr/x.yml")

    def test_text_that_is_not_utf8_is_not_editable(self, project: Path) -> None:
        (project / ZH).write_bytes("- 你好\n".encode("gb18030"))
        with pytest.raises(NotEditable, match="not_utf8"):
            ProjectFiles(project).read(ZH)


class TestWrite:
    """A write names the version it started from; a changed file is a conflict, never a lost edit."""

    def test_write_from_the_current_version(self, source: FileSource) -> None:
        base = source.read(ZH).version
        new = TREE[ZH] + "    - 在吗\n"
        version = source.write(ZH, new, base)
        assert version == version_of(new) == source.read(ZH).version
        assert source.read(ZH).text == new

    def test_writing_unchanged_text_keeps_the_bytes_and_the_version(self, source: FileSource) -> None:
        read = source.read(ZH)
        assert source.write(ZH, read.text, read.version) == read.version
        assert source.read(ZH) == read

    def test_a_stale_version_is_a_conflict_and_the_newer_edit_survives(self, source: FileSource) -> None:
        base = source.read(ZH).version
        theirs = source.write(ZH, TREE[ZH] + "    - 在吗\n", base)
        with pytest.raises(EditConflict) as caught:
            source.write(ZH, TREE[ZH] + "    - 哈喽\n", base)
        assert (caught.value.path, caught.value.current_version) == (ZH, theirs)
        assert source.read(ZH).text == TREE[ZH] + "    - 在吗\n"

    def test_creating_a_file_that_exists_is_a_conflict(self, source: FileSource) -> None:
        with pytest.raises(EditConflict) as caught:
            source.write(ZH, "nlu: []\n", None)
        assert caught.value.current_version == version_of(TREE[ZH])

    def test_a_new_file_in_an_editable_folder(self, source: FileSource) -> None:
        path = "data/nlu/en/handoff.yml"
        version = source.write(path, 'version: "3.1"\nnlu: []\n', None)
        assert source.read(path).version == version
        assert EditableFile(path, "nlu", "en") in source.list()

    @pytest.mark.parametrize("path", ["config.yml", "tests/nlu/en.yml", "../outside.yml", "data/nlu/zh/x.yaml"])
    def test_files_outside_the_editable_set_cannot_be_created(self, source: FileSource, path: str) -> None:
        with pytest.raises(PathNotAllowed):
            source.write(path, "nlu: []\n", None)

    def test_new_files_go_into_existing_folders_only(self, project: Path) -> None:
        with pytest.raises(PathNotAllowed, match="no_folder"):
            ProjectFiles(project).write("data/nlu/fr/orders.yml", "nlu: []\n", None)
        assert not (project / "data/nlu/fr").exists()

    def test_a_file_deleted_meanwhile_is_a_conflict(self, project: Path) -> None:
        files = ProjectFiles(project)
        base = files.read(ZH).version
        (project / ZH).unlink()
        with pytest.raises(EditConflict) as caught:
            files.write(ZH, "nlu: []\n", base)
        assert caught.value.current_version is None

    def test_writing_through_a_symlink_is_refused_and_the_target_untouched(self, project: Path, tmp_path: Path) -> None:
        (tmp_path / "outside.yml").write_text("secret: 1\n")
        (project / "data/nlu/zh/escape.yml").symlink_to(tmp_path / "outside.yml")
        with pytest.raises(PathNotAllowed, match="symlink"):
            ProjectFiles(project).write("data/nlu/zh/escape.yml", "pwned: 1\n", version_of("secret: 1\n"))
        assert (tmp_path / "outside.yml").read_text() == "secret: 1\n"

    def test_the_write_is_atomic_and_leaves_no_temporary_file(self, project: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
        files = ProjectFiles(project)
        base = files.read(ZH).version

        def crash(src: str, dst: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="disk full"):
            files.write(ZH, "half", base)
        assert (project / ZH).read_text("utf-8") == TREE[ZH]
        assert sorted(p.name for p in (project / "data/nlu/zh").iterdir()) == [LOCK_NAME, "notes.txt",
                                                                               "orders.yaml", "orders.yml"]

    def test_file_permissions_are_kept(self, project: Path) -> None:
        (project / ZH).chmod(0o640)
        files = ProjectFiles(project)
        files.write(ZH, TREE[ZH] + "    - 在吗\n", files.read(ZH).version)
        assert (project / ZH).stat().st_mode & 0o777 == 0o640

    def test_the_lock_file_can_live_outside_the_data_folders(self, project: Path, tmp_path: Path) -> None:
        locks = tmp_path / "locks"
        locks.mkdir()
        files = ProjectFiles(project, lock_dir=locks)
        files.write(ZH, TREE[ZH] + "    - 在吗\n", files.read(ZH).version)
        assert (locks / LOCK_NAME).exists()
        assert not (project / "data/nlu/zh" / LOCK_NAME).exists()


def increment(files: FileSource, path: str, times: int) -> None:
    """Read-modify-write a counter ``times`` times, retrying on conflicts as an editor would."""
    for _ in range(times):
        while True:
            read = files.read(path)
            try:
                files.write(path, str(int(read.text) + 1), read.version)
                break
            except EditConflict:
                continue


COUNTER = "data/rules/counter.yml"
WORKER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tests.studio.test_files import increment
    from bot.studio.files import ProjectFiles
    increment(ProjectFiles(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3]))
""")


def spawn(project: Path, times: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(project), COUNTER, str(times)], cwd=ROOT)


class TestConcurrency:
    """Concurrent editors, in threads or in processes, never lose an update."""

    def test_threads_lose_no_update(self, source: FileSource) -> None:
        source.write(COUNTER, "0", None)
        workers = [threading.Thread(target=increment, args=(source, COUNTER, 10)) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert source.read(COUNTER).text == "80"

    def test_processes_lose_no_update(self, project: Path) -> None:
        ProjectFiles(project).write(COUNTER, "0", None)
        workers = [spawn(project, 15) for _ in range(3)]
        assert [worker.wait(timeout=60) for worker in workers] == [0, 0, 0]
        assert ProjectFiles(project).read(COUNTER).text == "45"

    def test_a_write_waits_for_the_lock_another_process_holds(self, project: Path) -> None:
        ProjectFiles(project).write(COUNTER, "0", None)
        lock = os.open(project / "data/rules" / LOCK_NAME, os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            worker = spawn(project, 1)
            time.sleep(1.0)
            blocked = worker.poll() is None
            unchanged = (project / COUNTER).read_text() == "0"
        finally:
            os.close(lock)
        assert worker.wait(timeout=60) == 0
        assert (blocked, unchanged) == (True, True)
        assert (project / COUNTER).read_text() == "1"

