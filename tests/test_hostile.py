"""Hostile places (issue 23): a link or a FIFO planted where compare writes is never followed,
only regular files are ever replaced, and a name too long for the temporary file is refused
before any training. Each case was run by an adversarial tester and did harm before."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from compare.cli import main
from shared.download import DownloadError, RemoteFile, download_file
from conftest import one_error_line as refused, write_dataset

TINY = ["--impl", "numpy", "--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "100",
        "--epochs", "1", "-q"]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


@pytest.fixture
def victim(tmp_path):
    path = tmp_path / "victim.txt"
    path.write_text("the user's own words\n")
    return path


def test_a_link_planted_where_a_save_lock_goes_is_not_followed(tmp_path, victim):  # 23.1
    (tmp_path / "s").mkdir()
    os.symlink("../victim.txt", tmp_path / "s" / ".m.npz.lock")
    result = invoke("run", *TINY, "--save", "s/m.npz")
    refused(result, 2, "--save", "not a regular file")
    assert victim.read_text() == "the user's own words\n"
    assert not (tmp_path / "s" / "m.npz").exists()


def test_a_link_planted_where_the_run_lock_goes_is_not_followed(tmp_path, victim):  # 23.1
    (tmp_path / "reports" / "X").mkdir(parents=True)
    os.symlink("../../victim.txt", tmp_path / "reports" / "X" / ".compare-run.lock")
    result = invoke("run", *TINY, "--name", "X")
    refused(result, 2, "--name", "not a regular file")
    assert victim.read_text() == "the user's own words\n"


def test_a_link_planted_where_the_download_part_goes_is_not_followed(tmp_path, victim):  # 23.2
    dest = tmp_path / "d"
    dest.mkdir()
    os.symlink("../victim.txt", dest / ".train-images-idx3-ubyte.gz.part")
    remote = RemoteFile("train-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match="not a regular file"):
        download_file(remote, ["http://127.0.0.1:9"], dest, timeout=1, retries=1)  # a closed port: never reached
    assert victim.read_text() == "the user's own words\n"


def test_force_never_replaces_a_fifo(tmp_path):  # 23.7 (a FIFO stands for device nodes too)
    os.mkfifo(tmp_path / "pipe")
    result = invoke("run", *TINY, "--save", "pipe", "--force")
    refused(result, 2, "--save", "not a regular file")
    assert not (tmp_path / "pipe").is_file() and (tmp_path / "pipe").exists()


@pytest.mark.parametrize("length", [243, 250, 255])
def test_a_save_name_too_long_for_its_temporary_file_is_refused_before_training(tmp_path, length):  # 23.6, 23.17
    name = "m" * (length - 4) + ".npz"
    result = invoke("run", *TINY, "--save", name)
    refused(result, 2, "--save", "characters compare allows")
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_download_never_replaces_the_users_dataset_without_force(tmp_path):  # 23.3
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "train-images-idx3-ubyte.gz").write_bytes(b"the user's own images")
    result = invoke("data", "download", "--dataset", "mine", "--dest", "mine", "--mirror", "http://127.0.0.1:9",
                    "--retries", "1", "--timeout", "1")  # 9: a closed port, never reached
    refused(result, 2, "--dest", "train-images-idx3-ubyte.gz", "--force")
    assert (tmp_path / "mine" / "train-images-idx3-ubyte.gz").read_bytes() == b"the user's own images"


@pytest.mark.parametrize("command, option, name", [
    ("run", "--save", "train-images-idx3-ubyte.gz"),
    ("run", "--json", "t10k-labels-idx1-ubyte.gz"),
    ("gradcheck", "--json", "t10k-labels-idx1-ubyte.gz"),
])
def test_an_output_never_replaces_a_dataset_file_even_with_force(tmp_path, command, option, name):  # 23.4
    data_dir = write_dataset(tmp_path / "d")
    before = (data_dir / name).read_bytes()
    args = ["--impl", "numpy", "--sizes", "16,4,3"] + (["--epochs", "1", "-q"] if command == "run" else [])
    result = invoke(command, *args, "--data-dir", data_dir, option, data_dir / name, "--force")
    refused(result, 2, option, "reads")
    assert (data_dir / name).read_bytes() == before


RESUMABLE = ["--sizes", "784,8,10", "--train-limit", "200", "--test-limit", "200", "-q"]


@pytest.fixture
def weak_checkpoint(tmp_path):
    """A model of about 31% on the first 200 test images (one epoch on 200 images)."""
    result = invoke("run", "--impl", "numpy", *RESUMABLE, "--epochs", "1", "--save", "w.npz", "--name", "first")
    assert result.exit_code == 0, result.output
    return tmp_path / "w.npz"


def test_a_resumed_run_never_saves_a_worse_model_over_the_one_it_resumed(tmp_path, weak_checkpoint):  # 23.5
    before = weak_checkpoint.read_bytes()
    result = invoke("run", "--resume", weak_checkpoint, "--save", weak_checkpoint, "--lr", "10", *RESUMABLE,
                    "--name", "worse")  # 31% -> about 10%, not a divergence by the rules
    refused(result, 1, "w.npz is unchanged", "worse than", "--force")
    assert weak_checkpoint.read_bytes() == before
    from shared.checkpoint import load_checkpoint

    kept = load_checkpoint(tmp_path / "reports" / "worse" / "model.npz")  # the run's own model is kept, and said where
    assert kept.epoch == 2 and kept.test_accuracy < 0.2
    assert "reports/worse/model.npz" in result.output
    assert (tmp_path / "reports" / "worse" / "results.json").exists()


def test_force_lets_a_resumed_run_save_a_worse_model(tmp_path, weak_checkpoint):  # 23.5
    result = invoke("run", "--resume", weak_checkpoint, "--save", weak_checkpoint, "--lr", "10", *RESUMABLE,
                    "--name", "worse", "--force")
    assert result.exit_code == 0, result.output
    from shared.checkpoint import load_checkpoint

    assert load_checkpoint(weak_checkpoint).epoch == 2


def test_a_resumed_run_that_improves_saves_as_before(tmp_path, weak_checkpoint):  # 23.5
    result = invoke("run", "--resume", weak_checkpoint, "--save", weak_checkpoint, *RESUMABLE, "--name", "better")
    assert result.exit_code == 0, result.output
    from shared.checkpoint import load_checkpoint

    assert load_checkpoint(weak_checkpoint).epoch == 2


def files_of(directory) -> dict[str, bytes]:
    """Its files and their bytes, without the lock (a run killed by -9 leaves its empty lock behind)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file() and p.name != ".compare-run.lock"}


@pytest.fixture
def finished_run(tmp_path):
    """reports/X: a finished one-epoch run, and a note of the user's beside its files."""
    result = invoke("run", *TINY, "--name", "X")
    assert result.exit_code == 0, result.output
    (tmp_path / "reports" / "X" / "notes.txt").write_text("what I tried\n")
    return tmp_path / "reports" / "X"


def interrupt_on_figure(monkeypatch, count: int):
    """Ctrl-C while the report draws its `count`-th figure."""
    import compare.report.drawing as drawing

    written, real = [], drawing.atomic_write_bytes

    def write(path, data):
        written.append(path)
        if len(written) == count:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(drawing, "atomic_write_bytes", write)


def test_an_interrupted_force_rerun_never_leaves_a_mix_of_two_runs(tmp_path, finished_run, monkeypatch):  # 23.8
    before = files_of(finished_run)
    interrupt_on_figure(monkeypatch, 3)
    result = invoke("run", *TINY, "--name", "X", "--force", "--epochs", "2", "--seed", "7")
    assert result.exit_code == 130, result.output
    after = files_of(finished_run)
    # page-digits.npz depends only on the dataset, so both runs write the same bytes: not a sign of the old run
    old = {name for name, data in after.items() if before.get(name) == data} - {"notes.txt", "page-digits.npz"}
    assert after["notes.txt"] == b"what I tried\n"  # the user's own file stays, whichever run is there
    assert old == set() or after == before, f"old files {old} beside new ones {set(after) - old}"
    assert [p.name for p in finished_run.parent.iterdir()] == ["X"]  # nothing built beside it is left


def test_a_force_rerun_replaces_the_run_as_a_whole(tmp_path, finished_run):  # 23.8
    before = files_of(finished_run)
    result = invoke("run", *TINY, "--name", "X", "--force", "--epochs", "2", "--seed", "7")
    assert result.exit_code == 0, result.output
    after = files_of(finished_run)
    assert after["notes.txt"] == b"what I tried\n"
    # every file is the new run's but the user's note (and page-digits.npz, whose bytes depend only on the dataset)
    assert {name for name, data in after.items() if before.get(name) == data} - {"page-digits.npz"} == {"notes.txt"}
    assert [p.name for p in finished_run.parent.iterdir()] == ["X"]


def test_a_force_rerun_killed_while_drawing_leaves_the_old_run_whole(tmp_path, finished_run):  # 23.8: kill -9
    import subprocess
    import sys

    before = files_of(finished_run)
    script = (
        "import os, signal, sys\n"
        "import compare.report.drawing as drawing\n"
        "written = []\n"
        "def write(path, data):\n"
        "    written.append(path)\n"
        "    if len(written) == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    real(path, data)\n"
        "real = drawing.atomic_write_bytes\n"
        "drawing.atomic_write_bytes = write\n"
        "from compare.cli import main\n"
        "sys.argv = ['compare', *sys.argv[1:]]\n"
        "main()\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    killed = subprocess.run([sys.executable, "-c", script, "run", *TINY, "--name", "X", "--force", "--epochs", "2",
                             "--seed", "7"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": root}, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    assert files_of(finished_run) == before
    again = invoke("run", *TINY, "--name", "X", "--force")  # the next run cleans up what the killed one built
    assert again.exit_code == 0, again.output
    assert [p.name for p in finished_run.parent.iterdir()] == ["X"]


def test_a_run_never_writes_an_epoch_the_reader_refuses(tmp_path):  # 23.9
    from shared.checkpoint import MAX_EPOCH, Checkpoint, save_checkpoint
    from shared.config import Config
    from shared.params import init_params

    config = Config(sizes=(784, 8, 10))
    save_checkpoint(tmp_path / "old.npz", Checkpoint(init_params(config.sizes, "nielsen", 0), config, "numpy",
                                                     MAX_EPOCH, 0.5))
    before = (tmp_path / "old.npz").read_bytes()
    result = invoke("run", "--resume", "old.npz", "--save", "old.npz", "--train-limit", "200", "--test-limit", "100",
                    "-q", "--name", "late")
    refused(result, 2, "--epochs", "1,000,000")
    assert (tmp_path / "old.npz").read_bytes() == before and not (tmp_path / "reports" / "late").exists()
    refused(invoke("run", *TINY, "--epochs", MAX_EPOCH + 1), 2, "--epochs", "1,000,000")


def rewritten(source, target, member: str, content: bytes):
    """A copy of the checkpoint `source` with one member's bytes replaced."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, content if info.filename == member else old.read(info.filename))
    return target


def npy_with_header(header: bytes) -> bytes:
    import struct

    header += b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


@pytest.fixture
def good_checkpoint(tmp_path):
    from shared.checkpoint import Checkpoint, save_checkpoint
    from shared.config import Config
    from shared.params import init_params

    config = Config(sizes=(784, 8, 10))
    save_checkpoint(tmp_path / "good.npz", Checkpoint(init_params(config.sizes, "nielsen", 0), config, "numpy", 1, 0.5))
    return tmp_path / "good.npz"


def metadata_with_long_number(source) -> bytes:
    import io
    import json

    import numpy as np

    metadata = json.loads(str(np.load(source)["metadata"]))
    text = json.dumps(metadata).replace(f'"epoch": {metadata["epoch"]}', '"epoch": ' + "9" * 5001)
    buffer = io.BytesIO()
    np.save(buffer, np.array(text))
    return buffer.getvalue()


@pytest.mark.parametrize("damage", ["a header cut inside its shape", "a header cut inside a string",
                                    "a metadata number of 5,001 digits"])
@pytest.mark.parametrize("command", ["eval", "page", "run"])
def test_a_damaged_checkpoint_is_one_line_in_every_command(tmp_path, good_checkpoint, damage, command):  # 23.13
    if damage == "a metadata number of 5,001 digits":
        member, content = "metadata.npy", metadata_with_long_number(good_checkpoint)
    else:
        cut = b"(8, " if "shape" in damage else b"(8, 784), 'x': '''"
        member, content = "W1.npy", npy_with_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': " + cut)
    damaged = rewritten(good_checkpoint, tmp_path / "damaged.npz", member, content)
    args = {"eval": ["eval", damaged], "page": ["page", damaged],
            "run": ["run", "--resume", damaged, "--train-limit", "100", "-q"]}[command]
    refused(invoke(*args), 1, "damaged.npz")


@pytest.mark.parametrize("command", ["run", "bench"])
@pytest.mark.parametrize("threads", ["²", "١", "٣", "1.5", "-1"])
def test_threads_that_only_look_like_numbers_are_one_line(command, threads):  # 23.11
    refused(invoke(command, "--threads", threads), 2, "--threads")


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "tanh"])
@pytest.mark.parametrize("loss", ["mse", "cross-entropy"])
@pytest.mark.parametrize("option", ["--lr", "--weight-decay"])
def test_a_float32_number_beyond_float32_is_one_line(activation, loss, option):  # 23.12
    result = invoke("run", "--impl", "torch", "--dtype", "float32", option, "1e300", "--activation", activation,
                    "--loss", loss, "--sizes", "784,8,10", "--train-limit", "100", "--test-limit", "100", "-q")
    refused(result, 2, option, "float32")


def test_report_on_json_nested_too_deeply_is_one_line(tmp_path):  # 23.14
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    refused(invoke("report", "deep.json"), 1, "deep.json")


@pytest.fixture
def no_hang():
    """A test that would hang (a FIFO opened for reading) fails after 60 s instead."""
    import signal

    def hung(signum, frame):
        raise AssertionError("hung: still waiting after 60 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_report_on_a_fifo_or_an_endless_device_is_one_line_and_returns(tmp_path, no_hang):  # 23.14
    os.mkfifo(tmp_path / "results.json")
    refused(invoke("report", "results.json"), 1, "results.json", "not a regular file")
    refused(invoke("report", "/dev/zero"), 1, "/dev/zero", "not a regular file")


def test_report_on_a_huge_file_is_refused_unread(tmp_path):  # 23.14
    with open(tmp_path / "huge.json", "wb") as file:
        file.truncate(3 << 30)  # sparse: 3 GiB of nothing, more than any results file
    refused(invoke("report", "huge.json"), 1, "huge.json", "GiB")


def test_force_over_a_run_whose_results_are_a_fifo_does_not_hang(tmp_path, no_hang):  # 23.14
    (tmp_path / "reports" / "X").mkdir(parents=True)
    os.mkfifo(tmp_path / "reports" / "X" / "results.json")
    refused(invoke("run", *TINY, "--name", "X", "--force"), 2, "--name", "not a run of compare")


@pytest.mark.parametrize("length", [250, 256, 300])
@pytest.mark.parametrize("command", ["run --save", "run --json", "page --out", "predict --show", "gradcheck --json",
                                     "bench --markdown", "run --name", "run --reports-dir", "report --out",
                                     "bench --out", "data download --dest"])
def test_a_name_too_long_is_refused_before_any_work(tmp_path, good_checkpoint, command, length, request):  # 23.17
    name = "n" * (length - 4) + (".png" if "show" in command else ".npz")
    command, option = command.rsplit(" ", 1)
    if option in ("--name", "--reports-dir", "--out", "--dest") and length <= 255:
        pytest.skip("a directory's name may be up to 255 bytes: it has no temporary name")
    (tmp_path / "one.png").write_bytes(b"")
    extra = {"page": [good_checkpoint], "predict": [good_checkpoint, "one.png"], "run": TINY,
             "gradcheck": ["--impl", "numpy"], "bench": ["--quick"], "report": [request.getfixturevalue("finished_run") / "results.json"] if command == "report" else [],
             "data download": ["--mirror", "http://127.0.0.1:9"]}[command]
    result = invoke(*command.split(), *extra, option, name)
    refused(result, 2, option, "allow")


def compare_process(*args, cwd, env=None):
    """`compare ARGS` as its own process (arguments may be bytes, as a shell passes them)."""
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-c", "import sys; from compare.cli import main; sys.argv[0] = 'compare'; main()", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": root, "LC_ALL": "C.UTF-8", **(env or {})})


def test_a_name_of_bytes_that_are_not_utf8_writes_the_whole_run(tmp_path):  # 23.18
    result = compare_process("run", *TINY, "--name", b"caf\xe9", "--save", b"m\xff.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    run = tmp_path / "reports" / os.fsdecode(b"caf\xe9")
    assert {"results.json", "report.md", "report.html", "page.html"} <= {p.name for p in run.iterdir()}
    assert (tmp_path / os.fsdecode(b"m\xff.npz")).exists()
    report = compare_process("report", run / "results.json", "--force", cwd=tmp_path)  # and the report again
    assert report.returncode == 0, report.stderr.decode(errors="replace")[-3000:]


def test_a_name_the_terminal_cannot_show_does_not_fail_the_run(tmp_path):  # 23.18
    result = compare_process("run", *TINY[:-1], "--name", "数字", cwd=tmp_path, env={"PYTHONIOENCODING": "latin-1"})
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    assert b"Traceback" not in result.stderr
    assert b"reports/" in result.stdout  # said, with what the terminal cannot show escaped


@pytest.mark.parametrize("planted", ["directory", "fifo"])
def test_download_refuses_a_directory_or_fifo_where_a_file_goes(tmp_path, planted, no_hang):  # 23.19
    dest = tmp_path / "mine"
    dest.mkdir()
    where = dest / "train-images-idx3-ubyte.gz"
    where.mkdir() if planted == "directory" else os.mkfifo(where)
    for force in ([], ["--force"]):  # only regular files are ever replaced
        result = invoke("data", "download", "--dest", dest, "--mirror", "http://127.0.0.1:9", "--retries", "1",
                        "--timeout", "1", *force)
        refused(result, 2, "--dest", "train-images-idx3-ubyte.gz", "not a regular file")
    assert where.exists() and not where.is_file()


@pytest.mark.parametrize("dataset", ["../../x", "../x", "a/b", "..", ".", "/tmp/x"])
def test_a_dataset_name_never_leads_outside_the_data_directory(tmp_path, dataset):  # 23.27
    result = invoke("data", "download", "--dataset", dataset, "--mirror", "http://127.0.0.1:9", "--retries", "1",
                    "--timeout", "1")
    refused(result, 2, "--dataset")


def fake_bench(monkeypatch, measured: list):
    """compare bench with its measuring (minutes) replaced by a quiet machine's canned figures."""
    import compare.benchmark.markdown as markdown
    import compare.benchmark.suite as suite

    def run_bench(*args, **kwargs):
        measured.append(kwargs.get("quiet_peaks"))
        return {"reliability": {"unreliable": False, "reasons": []}, "matmul_peak_gflops": {"float64": 10.0},
                "throughput": []}

    monkeypatch.setattr(suite, "run_bench", run_bench)
    monkeypatch.setattr(suite, "save", lambda document, json_path, markdown_path: None)
    monkeypatch.setattr(markdown, "to_markdown", lambda document, on_terminal=False: "# bench")


def test_bench_out_keeps_every_file_inside_it(tmp_path, monkeypatch):  # 23.27
    measured = []
    fake_bench(monkeypatch, measured)
    (tmp_path / "parent").mkdir()
    result = invoke("bench", "--out", "parent/D")
    assert result.exit_code == 0, result.output
    assert measured and (tmp_path / "parent" / "D" / "matmul-peak.json").exists()
    assert sorted(p.name for p in (tmp_path / "parent").iterdir()) == ["D"]


@pytest.mark.parametrize("content", ['{"KEY": {"float64": "fast"}}', '{"KEY": {"float64": -1}}', '[1, 2]', "{"])
def test_bench_refuses_damaged_quiet_peaks_before_measuring(tmp_path, monkeypatch, content):  # 23.20
    from compare.benchmark.targets import quiet_peaks_key

    measured = []
    fake_bench(monkeypatch, measured)
    (tmp_path / "D").mkdir()
    (tmp_path / "D" / "matmul-peak.json").write_text(content.replace("KEY", quiet_peaks_key()))
    refused(invoke("bench", "--out", "D", "--force"), 1, "matmul-peak.json")
    assert measured == []


def test_bench_never_waits_on_a_fifo_as_its_quiet_peaks(tmp_path, monkeypatch, no_hang):  # 23.20
    measured = []
    fake_bench(monkeypatch, measured)
    (tmp_path / "D").mkdir()
    os.mkfifo(tmp_path / "D" / "matmul-peak.json")
    refused(invoke("bench", "--out", "D", "--force"), 2, "matmul-peak.json", "not a regular file")
    assert measured == []


def test_the_memory_estimate_counts_the_data(tmp_path, monkeypatch):  # 23.21
    """A small .gz may declare many images (zeros compress to nothing): their float64 copy counts."""
    import gzip

    import numpy as np

    import shared.resources
    from conftest import idx_bytes

    data = write_dataset(tmp_path / "d", classes=10, side=28)
    header = idx_bytes(np.zeros((0, 28, 28)))[:4] + (200_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (data / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(200_000 * 784)))
    (data / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.arange(200_000) % 10)))
    monkeypatch.setattr(shared.resources, "available_memory", lambda: 1 << 30)  # 1 GiB: the 1.2 GB copy does not fit
    result = invoke("run", "--impl", "numpy", "--sizes", "784,8,10", "--data-dir", data, "-q")
    refused(result, 2, "200,000", "GiB")
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("lr", ["1e3", "1e300"])
@pytest.mark.parametrize("impl", ["numpy", "scratch", "autograd", "tensor", "torch"])
def test_below_chance_after_the_weights_blew_up_is_divergence(tmp_path, impl, lr):  # 23.22
    """ReLU and the quadratic cost: a bounded loss, so no loss blow-up shows; the weights reach 1e298."""
    result = invoke("run", "--impl", impl, "--activation", "relu", "--loss", "mse", "--lr", lr, "--train-limit", "500",
                    "--save", "m.npz", "-q")
    refused(result, 1, "lower learning rate")  # (at 1e300 some see the loss turn NaN first)
    assert not (tmp_path / "m.npz").exists()


@pytest.fixture
def huge_checkpoint(tmp_path):
    """Finite weights so large that the forward pass overflows: softmax of inf - inf is NaN."""
    import numpy as np

    from shared.checkpoint import Checkpoint, save_checkpoint
    from shared.config import Config
    from shared.params import init_params

    config = Config(sizes=(784, 8, 10))
    (W1, b1), (W2, b2) = init_params(config.sizes, "nielsen", 0)
    huge = np.full_like(W2, 1e308)  # finite; eight of them summed are not
    save_checkpoint(tmp_path / "huge.npz", Checkpoint([(W1, b1), (huge, b2)], config, "numpy", 1, 0.5))
    return tmp_path / "huge.npz"


@pytest.mark.parametrize("command", ["eval", "predict", "page"])
def test_a_model_that_computes_nan_is_refused(tmp_path, huge_checkpoint, command):  # 23.23
    from PIL import Image
    import numpy as np

    image = np.full((60, 60), 255, np.uint8)
    image[10:50, 28:33] = 0
    Image.fromarray(image).save(tmp_path / "one.png")
    args = {"eval": ["eval", huge_checkpoint], "predict": ["predict", huge_checkpoint, "one.png"],
            "page": ["page", huge_checkpoint]}[command]
    result = invoke(*args)
    refused(result, 1, "huge.npz", "NaN")
    assert "RuntimeWarning" not in result.output and "nan%" not in result.output
    assert not (tmp_path / "huge.html").exists()


def test_a_save_inside_the_run_folder_is_not_taken_for_the_users_files(tmp_path):  # 23.24
    result = invoke("run", *TINY, "--name", "X", "--save", "reports/X/m.npz")
    assert result.exit_code == 0, result.output
    assert {"m.npz", "results.json", "model.npz"} <= {p.name for p in (tmp_path / "reports" / "X").iterdir()}


def test_a_save_over_the_runs_own_model_is_refused_and_leaves_nothing(tmp_path):  # 23.24
    result = invoke("run", *TINY, "--name", "X", "--save", "reports/X/model.npz")
    refused(result, 2, "--save", "model.npz", "the run")
    assert not (tmp_path / "reports" / "X").exists()


def test_a_refused_run_leaves_no_directory_made_for_its_save(tmp_path):  # 23.24
    (tmp_path / "reports" / "mine").mkdir(parents=True)
    (tmp_path / "reports" / "mine" / "notes.txt").write_text("mine")
    result = invoke("run", *TINY, "--name", "mine", "--save", "out/deep/m.npz")
    refused(result, 2, "--name", "not a run of compare")
    assert not (tmp_path / "out").exists()


def test_one_training_image_is_not_divergence(tmp_path):  # 23.25
    result = invoke("run", "--impl", "numpy", "--train-limit", "1", "--batch-size", "1", "--test-limit", "100", "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.filterwarnings("error::UserWarning")  # its loss of 0 once made the report's log scale warn
@pytest.mark.parametrize("loss", ["cross-entropy", "mse"])
def test_one_class_is_not_divergence(tmp_path, loss):  # 23.25
    data = write_dataset(tmp_path / "d", classes=1)
    result = invoke("run", "--impl", "numpy", "--sizes", "16,4,1", "--loss", loss, "--data-dir", data, "-q")
    assert result.exit_code == 0, result.output


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_weight_decay_too_large_is_told_as_such(tmp_path):  # 23.25
    result = invoke("run", "--impl", "numpy", "--weight-decay", "1e308", "--train-limit", "500", "-q")
    refused(result, 1, "--weight-decay")
    assert "lower learning rate" not in result.output and "RuntimeWarning" not in result.output


def test_a_run_piped_into_head_finishes_and_keeps_its_files(tmp_path):  # 23.26: `compare run ... | head -1`
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-c", "import sys; from compare.cli import main; sys.argv[0] = 'compare'; main()",
               "run", *[a for a in TINY if a != "-q"], "--name", "X", "--save", "m.npz"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": root})
    first = process.stdout.readline()  # what head -1 reads, and then it is gone
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 0, stderr[-3000:]
    assert first and "Traceback" not in stderr and "Error" not in stderr and "Broken pipe" not in stderr
    assert (tmp_path / "reports" / "X" / "report.html").exists() and (tmp_path / "m.npz").exists()


def test_long_work_off_a_terminal_says_where_it_is(capsys):  # 23.29: a 1,500-layer gradient check, silent
    from compare.progress import Progress

    now = [0.0]
    with Progress("checking gradients", 3003, unit="check", clock=lambda: now[0]) as progress:
        for _ in range(300):
            now[0] += 1.0  # a second a step: 50 minutes in all
            progress.update(1)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "checking gradients (3,003 checks) ..."
    assert len(lines) == 1 + 300 // 15  # one more line every 15 s
    assert lines[1] == "checking gradients: 15 of 3,003 checks, about 49 min 48 s left"


def test_predict_show_of_many_images_draws_the_first_ones_and_says_so(tmp_path, good_checkpoint):  # 23.29
    import time

    import numpy as np
    from PIL import Image

    image = np.full((60, 60), 255, np.uint8)
    image[10:50, 28:33] = 0
    names = []
    for index in range(120):
        names.append(f"d{index}.png")
        Image.fromarray(image).save(tmp_path / names[-1])
    start = time.perf_counter()
    result = invoke("predict", good_checkpoint, *names, "--show", "show.png")
    assert result.exit_code == 0, result.output
    assert "the first 40 of the 120 images" in result.output and (tmp_path / "show.png").exists()
    assert time.perf_counter() - start < 120


def test_eval_and_page_count_the_test_sets_memory(tmp_path, monkeypatch):  # 23.21, for eval and page
    """A small .gz declaring 200,000 test images: their float64 copy (1.2 GB) is refused before it is made."""
    import gzip

    import numpy as np

    import shared.resources
    from conftest import idx_bytes

    data = write_dataset(tmp_path / "d", classes=10, side=28, train_count=50)
    assert invoke("run", "--impl", "numpy", "--sizes", "784,8,10", "--data-dir", data, "--save", "m.npz",
                  "-q").exit_code == 0
    header = idx_bytes(np.zeros((0, 28, 28)))[:4] + (200_000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    (data / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + bytes(200_000 * 784)))
    (data / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.arange(200_000) % 10)))
    monkeypatch.setattr(shared.resources, "available_memory", lambda: 1 << 30)  # 1 GiB: the 1.2 GB copy does not fit
    refused(invoke("eval", "m.npz", "--data-dir", data), 2, "--data-dir", "200,000 test images", "1.2 GiB", "float64")
    refused(invoke("page", "m.npz", "--data-dir", data, "--out", "p.html"), 2, "--data-dir", "200,000 test images")
    assert not (tmp_path / "p.html").exists()
    monkeypatch.setattr(shared.resources, "available_memory", lambda: 4 << 30)
    assert invoke("eval", "m.npz", "--data-dir", data).exit_code == 0
