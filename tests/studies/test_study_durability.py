"""Claims, atomic results, concurrent workers and executors of design-space studies.

These use a cheap real trainer (tests/studies/cheap_trainer.py, plugged in by path),
so whole populations train in seconds; the Runner end to end and the kill -9 test
are in test_study_toolbox.py.
"""
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from regnet_plugin.studies.claims import ClaimBook, ClaimInfo, process_start_time
from regnet_plugin.studies.executors import train_study
from regnet_plugin.studies.layout import StudyDir
from regnet_plugin.studies.manifest import Manifest, draw_population
from regnet_plugin.studies.results import CorruptResult, ModelResult, ResultStore
from regnet_plugin.studies.schema import StudyConfig, TrainOptions
from regnet_plugin.studies.worker import run_worker
from study_helpers import starts_per_key

CHEAP = str(Path(__file__).with_name('cheap_trainer.py')) + ':train'


def make_study(root: Path, n: int = 3, spaces=('RegNetX', 'AnyNetX_A'),
               train: dict | None = None) -> Manifest:
    """A study dir with a manifest (no training configs: the cheap trainer needs none)."""
    raw = dict(name='t', spaces=list(spaces), num_models=n, seed=1,
               regime=dict(min_flops=2e6, max_flops=4e6, img_size=32, num_classes=10),
               train=dict(train or {}, trainer=CHEAP))
    study = StudyConfig.from_dict(raw)
    manifest = Manifest(name='t', config_hash='test', config_path='-',
                        models=draw_population(study), study=raw)
    manifest.save(StudyDir(root).make())
    return manifest


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


# -- claims --------------------------------------------------------------------------
def test_claim_is_exclusive_until_released(tmp_path):
    book = ClaimBook(tmp_path)
    first = book.try_claim('m1')
    assert first is not None and first.still_mine()
    assert book.try_claim('m1') is None                 # held by a live pid (us)
    info = json.loads(first.path.read_text())
    assert info['pid'] == os.getpid() and info['host'] == socket.gethostname()
    first.release()
    assert not first.path.exists()
    assert book.try_claim('m1') is not None


def test_stale_claim_of_dead_pid_is_recovered(tmp_path):
    book = ClaimBook(tmp_path)
    stale = ClaimInfo('m1', dead_pid(), socket.gethostname(), None, time.time(), 'old')
    (tmp_path / 'm1.claim').write_text(stale.to_json())
    assert book.is_stale('m1')
    claim = book.try_claim('m1')
    assert claim is not None and claim.info.token != 'old'
    assert not list(tmp_path.glob('*.breaking-*'))


def test_reused_pid_is_stale_but_live_owner_is_not(tmp_path):
    book = ClaimBook(tmp_path)
    me = os.getpid()
    reused = ClaimInfo('m1', me, socket.gethostname(), process_start_time(me) + 1,
                       time.time(), 'x')
    (tmp_path / 'm1.claim').write_text(reused.to_json())
    assert book.is_stale('m1')
    live = ClaimInfo('m2', me, socket.gethostname(), process_start_time(me), time.time(), 'y')
    (tmp_path / 'm2.claim').write_text(live.to_json())
    assert not book.is_stale('m2') and book.try_claim('m2') is None


def test_other_host_claims_expire_by_heartbeat(tmp_path):
    book = ClaimBook(tmp_path, stale_after_s=60)
    other = ClaimInfo('m1', 1, 'some-other-node', None, time.time(), 'z')
    path = tmp_path / 'm1.claim'
    path.write_text(other.to_json())
    assert not book.is_stale('m1')
    os.utime(path, (time.time() - 120, time.time() - 120))    # no heartbeat for 2 min
    assert book.is_stale('m1')
    assert book.try_claim('m1') is not None


def test_empty_claim_from_a_crash_between_create_and_write(tmp_path):
    book = ClaimBook(tmp_path)
    path = tmp_path / 'm1.claim'
    path.write_text('')
    assert not book.is_stale('m1')                 # a live claimer may be writing it
    os.utime(path, (time.time() - 60, time.time() - 60))
    assert book.is_stale('m1')


# -- results -------------------------------------------------------------------------
def test_result_roundtrip_and_corruption_detected(tmp_path):
    store = ResultStore(tmp_path)
    store.write(ModelResult.done('m1', 12.5, 11.0, (20.0, 11.0, 12.5), epochs=3))
    loaded = store.load('m1')
    assert (loaded.final_error, loaded.best_error, loaded.history) == (12.5, 11.0,
                                                                       (20.0, 11.0, 12.5))
    assert store.peek('m1') == loaded
    assert not list(tmp_path.glob('.*.tmp'))           # no temporary file left behind
    path = store.path('m1')
    data = json.loads(path.read_text())
    data['final_error'] = 1.0                          # tampered: checksum mismatch
    path.write_text(json.dumps(data))
    with pytest.raises(CorruptResult, match='checksum'):
        store.load('m1')
    assert store.peek('m1') is None and path.exists()  # peek is read-only
    path.write_text(path.read_text()[:40])             # torn write
    with pytest.raises(CorruptResult, match='JSON'):
        store.load('m1')
    result, why = store.load_or_quarantine('m1')
    assert result is None and 'JSON' in why
    assert not path.exists() and len(list((tmp_path / 'corrupt').iterdir())) == 1
    assert store.peek('m1') is None                    # absent


def test_undecodable_result_bytes_are_corrupt(tmp_path):
    store = ResultStore(tmp_path)
    store.path('m1').write_bytes(b'{"key": "m1\xe9\xff"}')   # not UTF-8 (disk error)
    with pytest.raises(CorruptResult, match='JSON'):
        store.load('m1')
    assert store.peek('m1') is None and store.path('m1').exists()
    result, why = store.load_or_quarantine('m1')
    assert result is None and 'JSON' in why and not store.path('m1').exists()


def test_result_validation():
    with pytest.raises(ValueError, match='reason'):
        ModelResult('m', 'failed')
    with pytest.raises(ValueError, match='finite'):
        ModelResult.done('m', float('nan'))
    with pytest.raises(ValueError, match='status'):
        ModelResult('m', 'maybe')


# -- workers ---------------------------------------------------------------------------
def test_worker_trains_all_skips_finished_and_redoes_corrupt(tmp_path):
    manifest = make_study(tmp_path, n=2)
    report = run_worker(tmp_path, CHEAP, wait_for_others=False)
    assert sorted(report.trained) == sorted(manifest.keys())
    store = ResultStore(tmp_path / 'results')
    errors = [store.load(k).final_error for k in manifest.keys()]
    assert all(0 <= e < 50 for e in errors)            # real classifiers beat chance (90%)
    kept = manifest.keys()[0]
    before = store.path(kept).read_bytes()
    corrupt = manifest.keys()[1]
    store.path(corrupt).write_text('{"complete": tr')   # a torn result file
    again = run_worker(tmp_path, CHEAP, wait_for_others=False)
    assert again.trained == [corrupt]                  # only the corrupt one is redone
    assert store.path(kept).read_bytes() == before
    assert store.load(corrupt).status == 'done'
    assert starts_per_key(tmp_path)[kept] == 1 and starts_per_key(tmp_path)[corrupt] == 2


def test_failure_is_recorded_and_the_study_goes_on(tmp_path, monkeypatch):
    manifest = make_study(tmp_path, n=2)
    victim = manifest.keys()[1]
    monkeypatch.setenv('CHEAP_TRAINER_FAIL', victim)
    report = run_worker(tmp_path, CHEAP, wait_for_others=False)
    assert report.failed == [victim] and len(report.trained) == 3
    result = ResultStore(tmp_path / 'results').load(victim)
    assert result.status == 'failed' and 'planted failure' in result.reason
    # failures are final unless retried explicitly (and then retried once)
    monkeypatch.delenv('CHEAP_TRAINER_FAIL')
    assert run_worker(tmp_path, CHEAP, wait_for_others=False).trained == []
    retry = run_worker(tmp_path, CHEAP, retry_failed_before=time.time(),
                       wait_for_others=False)
    assert retry.trained == [victim]


@pytest.mark.parametrize('launch', ['fork', 'spawn'])
def test_two_concurrent_workers_train_each_model_exactly_once(tmp_path, monkeypatch, launch):
    manifest = make_study(tmp_path, n=4)
    monkeypatch.setenv('CHEAP_TRAINER_SLEEP', '0.3' if launch == 'fork' else '1.5')
    summary = train_study(tmp_path, TrainOptions(workers=2, trainer=CHEAP, launch=launch),
                          progress=False)
    assert (summary.done, summary.failed, summary.pending) == (8, 0, 0)
    starts = starts_per_key(tmp_path)
    assert sorted(starts) == sorted(manifest.keys()) and set(starts.values()) == {1}
    workers = {e['worker'] for e in StudyDir(tmp_path).read_events()
               if e['event'] == 'start'}
    if launch == 'fork':            # (spawned workers may start too far apart to share)
        assert len(workers) == 2                       # both did share the work
    assert not list((tmp_path / 'claims').glob('*.claim'))


def test_submitit_local_job_array(tmp_path):
    pytest.importorskip('submitit')
    manifest = make_study(tmp_path, n=2)
    summary = train_study(tmp_path, TrainOptions(executor='local', workers=2,
                                                 trainer=CHEAP), progress=False,
                          log=lambda m: None)
    assert (summary.done, summary.pending) == (4, 0) and len(summary.jobs) == 2
    assert set(starts_per_key(tmp_path).values()) == {1}
    assert sorted(starts_per_key(tmp_path)) == sorted(manifest.keys())


# -- bad input -----------------------------------------------------------------------
def test_bad_study_configs_say_what_is_wrong():
    base = dict(spaces=['RegNetX'], num_models=2, regime=dict(max_flops=4e6, img_size=32))
    with pytest.raises(ValueError, match="unknown design space 'RegNetZ'"):
        StudyConfig.from_dict(dict(base, spaces=['RegNetZ']))
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['depth_rnge'\]"):
        StudyConfig.from_dict(dict(base, spaces=[dict(name='RegNetX',
                                                      overrides=dict(depth_rnge=(1, 4)))]))
    with pytest.raises(ValueError, match='min_flops'):
        StudyConfig.from_dict(dict(base, regime=dict(min_flops=5e6, max_flops=4e6)))
    with pytest.raises(ValueError, match='num_models'):
        StudyConfig.from_dict(dict(base, num_models=0))
    with pytest.raises(ValueError, match='executor'):
        StudyConfig.from_dict(dict(base, train=dict(executor='kubernetes')))
    with pytest.raises(ValueError, match="no 'study' section"):
        StudyConfig.from_dict(None)


def test_impossible_regime_is_a_clear_error():
    study = StudyConfig.from_dict(dict(spaces=['RegNetX'], num_models=2, max_draws=20_000,
                                       regime=dict(max_flops=1e3, img_size=32)))
    with pytest.raises(ValueError, match='impossible regime for RegNetX'):
        draw_population(study)


def test_zombie_owner_counts_as_dead(tmp_path):
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    deadline = time.time() + 20
    while time.time() < deadline:                     # exited, not reaped: a zombie
        with open(f'/proc/{proc.pid}/stat') as f:
            if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                break
        time.sleep(0.05)
    try:
        info = ClaimInfo('m1', proc.pid, socket.gethostname(), None, time.time(), 't')
        (tmp_path / 'm1.claim').write_text(info.to_json())
        assert ClaimBook(tmp_path).is_stale('m1')
    finally:
        proc.wait()


def test_slurm_job_array_parameters_and_no_wait(tmp_path, monkeypatch):
    """The slurm path without a cluster: submitit's AutoExecutor is replaced by a
    recorder; the array has one task per worker, GPUs per model as gpus_per_node,
    the config's slurm options passed through, and --no-wait returns the job ids."""
    submitit = pytest.importorskip('submitit')
    make_study(tmp_path, n=1)
    seen = {}

    class FakeJob:
        def __init__(self, i):
            self.job_id = f'4242_{i}'

    class FakeExecutor:
        def __init__(self, folder, cluster=None):
            seen.update(folder=str(folder), cluster=cluster)

        def update_parameters(self, **params):
            seen['params'] = params

        def map_array(self, fn, *args):
            seen['fn'], seen['args'] = fn, args
            return [FakeJob(i) for i in range(len(args[0]))]

    monkeypatch.setattr(submitit, 'AutoExecutor', FakeExecutor)
    options = TrainOptions(executor='slurm', workers=3, gpus_per_model=2, wait=False,
                           trainer=CHEAP, slurm=dict(slurm_partition='gpu', timeout_min=90))
    summary = train_study(tmp_path, options, progress=False, log=lambda m: None)
    assert summary.jobs == ['4242_0', '4242_1', '4242_2'] and summary.pending == 2
    assert seen['cluster'] == 'slurm' and seen['folder'].endswith('submitit/%j')
    assert seen['params']['gpus_per_node'] == 2 and seen['params']['timeout_min'] == 90
    assert seen['params']['slurm_partition'] == 'gpu'
    assert seen['params']['slurm_array_parallelism'] == 3
    assert seen['fn'].__name__ == 'run_worker_task'
    assert seen['args'][0] == [str(tmp_path.resolve())] * 3


def test_several_gpus_per_model_use_torchrun():
    from regnet_plugin.studies.trainers import RunnerTrainer
    command = RunnerTrainer().command(Path('s/models/m/config.py'),
                                      TrainOptions(gpus_per_model=4), Path('s'))
    assert command[1:3] == ['-m', 'torch.distributed.run']
    assert '--nproc_per_node=4' in command
    assert command[-5:] == ['s/models/m/config.py', '--launcher', 'pytorch',
                            '--study-dir', 's']


def test_training_order_alternates_spaces(tmp_path):
    from regnet_plugin.studies.worker import training_order
    manifest = make_study(tmp_path, n=3)
    spaces = [m.space for m in training_order(manifest.models)]
    assert spaces == ['RegNetX', 'AnyNetX_A'] * 3


def test_study_launchers_are_the_toolbox_tools_launchers():
    """The torch-free schema repeats regnet_plugin.launch.LAUNCHERS; keep them equal."""
    from regnet_plugin.launch import LAUNCHERS
    from regnet_plugin.studies.schema import LAUNCHERS as STUDY_LAUNCHERS
    assert STUDY_LAUNCHERS == LAUNCHERS
    with pytest.raises(ValueError, match="launcher must be one of .*got 'mpi'"):
        TrainOptions(launcher='mpi').validate()


# -- faults: a dead worker, claims held by others --------------------------------------
def sleeper() -> subprocess.Popen:
    """A live process of this host to hold a claim."""
    return subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])


def test_waiting_for_a_claim_held_by_a_live_process_says_what_and_how(tmp_path):
    import threading
    manifest = make_study(tmp_path, n=1, spaces=('RegNetX',))
    key = manifest.keys()[0]
    holder = sleeper()
    try:
        info = ClaimInfo(key, holder.pid, socket.gethostname(),
                         process_start_time(holder.pid), time.time() - 90, 'held')
        (tmp_path / 'claims' / f'{key}.claim').write_text(info.to_json())
        messages = []

        def end_the_wait():          # once the driver said what it waits for
            deadline = time.time() + 60
            while time.time() < deadline and not any('waiting' in m for m in messages):
                time.sleep(0.1)
            holder.kill()

        watcher = threading.Thread(target=end_the_wait)
        watcher.start()
        summary = train_study(tmp_path, TrainOptions(workers=1, trainer=CHEAP,
                                                     launch='fork'),
                              progress=False, log=messages.append)
        watcher.join()
    finally:
        holder.kill()
        holder.wait()
    said = [m for m in messages if 'waiting for 1 model' in m]
    assert said, messages
    assert key in said[0] and f'pid {holder.pid} on this host' in said[0]
    assert 'claimed' in said[0] and 'ago' in said[0] and 'kill' in said[0]
    assert str(tmp_path.resolve() / 'claims') in said[0]
    assert summary.done == 1 and starts_per_key(tmp_path) == {key: 1}
    assert [e for e in StudyDir(tmp_path).read_events() if e['event'] == 'waiting']


def test_wait_notice_for_another_host_names_the_way_out(tmp_path, monkeypatch):
    from regnet_plugin.studies.claims import RUN_ENV, WaitNotice, describe_wait
    book = ClaimBook(tmp_path, stale_after_s=900)
    other = ClaimInfo('m1', 4242, 'some-other-node', None, time.time() - 300, 'z')
    path = tmp_path / 'm1.claim'
    path.write_text(other.to_json())
    os.utime(path, (time.time() - 100, time.time() - 100))
    text = describe_wait(book, ['m1', 'm2'])
    assert text.startswith('waiting for 1 model(s)')
    assert 'pid 4242 on host some-other-node' in text
    assert re.search(r'heartbeat 10\d s ago; .* 900 s old \(in (79\d|800) s\)', text)
    assert '--stale-after 0' in text and str(tmp_path) in text
    notes = []
    notice = WaitNotice(book, every_s=60, write=notes.append)
    assert notice.waiting(['m1']) and notice.waiting(['m1']) is None   # periodic, not
    assert len(notes) == 1                                            # at every poll
    notice.resume()
    assert notice.waiting(['m1']) and len(notes) == 2
    # a sibling worker of the same run is the normal end of a run: nothing to announce
    monkeypatch.setenv(RUN_ENV, 'run-1')
    sibling = ClaimInfo('m2', 4243, 'some-other-node', None, time.time(), 'y', 'run-1')
    (tmp_path / 'm2.claim').write_text(sibling.to_json())
    assert describe_wait(book, ['m2']) is None
    # --stale-after 0 takes over another host's claim at once
    assert ClaimBook(tmp_path, stale_after_s=0).try_claim('m1') is not None


def _tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'sample_space_tool', Path(__file__).resolve().parents[2] / 'tools' / 'sample_space.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kill_first_worker_that_starts(root: Path, killed: list) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        starts = [e for e in StudyDir(root).read_events() if e['event'] == 'start']
        if starts:
            os.kill(starts[0]['pid'], 9)
            killed.append(starts[0]['pid'])
            return
        time.sleep(0.05)


@pytest.mark.parametrize('workers', [2, 1])
def test_a_killed_worker_ends_in_a_summary_not_a_traceback(tmp_path, monkeypatch, capsys,
                                                           workers):
    """Two workers, one killed: the other finishes everything and the run succeeds
    with a line about the dead worker. One worker, killed: a summary of what is
    unfinished and how to resume, exit status 1, no traceback."""
    import threading
    config = tmp_path / 'c.py'
    demo = Path(__file__).resolve().parents[2] / 'configs' / 'studies' / 'demo_digits.py'
    config.write_text(f'_base_ = [{str(demo)!r}]\nstudy = dict(num_models=2, '
                      f'data_preparation=None)\n')
    work = tmp_path / 'study'
    tool = _tool()
    assert tool.main([str(config), 'sample', '--work-dir', str(work), '--no-progress']) == 0
    monkeypatch.setenv('CHEAP_TRAINER_SLEEP', '0.5')
    killed = []
    watcher = threading.Thread(target=_kill_first_worker_that_starts, args=(work, killed))
    watcher.start()
    code = tool.main([str(config), 'train', '--work-dir', str(work), '--no-progress',
                      '--trainer', CHEAP, '--workers', str(workers), '--launch', 'fork'])
    watcher.join()
    out, err = capsys.readouterr()
    assert killed and 'Traceback' not in out + err
    assert f'(pid {killed[0]}) was killed by SIGKILL' in out
    if workers == 2:
        assert code == 0, out + err
        assert 'trained: 4 done, 0 failed, 0 unfinished of 4' in out
        assert 'nothing is missing' in out
    else:
        assert code == 1, out + err
        assert ' 0 failed, ' in out and 'unfinished: ' in out
        assert f'resume (finished models are kept): python tools/sample_space.py ' \
               f'{config} train --work-dir {work}' in out


# -- fixed costs of a run ---------------------------------------------------------------
class _NoLongSleep:
    """Stands in for a module's ``time``: a sleep of a whole poll fails the test at
    once (instead of hanging it for the patched, hour-long poll)."""

    def __init__(self, longest_s: float) -> None:
        self.longest_s = longest_s

    def sleep(self, seconds: float) -> None:
        if seconds > self.longest_s:
            raise AssertionError(f'slept {seconds} s: a poll, not a wait for the event')
        time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.mark.parametrize('launch', ['fork', 'spawn'])
def test_the_driver_ends_when_its_workers_end_not_at_its_next_poll(tmp_path, monkeypatch,
                                                                   launch):
    """The driver waits on its workers' exits, polling the progress in between: with
    an hour-long poll it still returns as soon as the last worker is done."""
    from regnet_plugin.studies import executors
    make_study(tmp_path, n=2)
    monkeypatch.setattr(executors, 'POLL_S', 3600.0)
    monkeypatch.setattr(executors, 'time', _NoLongSleep(1.0))
    summary = train_study(tmp_path, TrainOptions(workers=2, trainer=CHEAP, launch=launch),
                          progress=False, log=lambda m: None)
    assert summary.done == 4 and summary.worker_errors == []


def test_a_waiting_worker_goes_on_once_the_claim_it_waits_for_is_released(tmp_path,
                                                                           monkeypatch):
    """A worker whose remaining models are held by a live sibling looks again as soon
    as the sibling releases the claim (its model finished), not a whole poll later:
    at the end of a study that is when the last result lands."""
    import threading
    from regnet_plugin.studies import worker
    manifest = make_study(tmp_path, n=1, spaces=('RegNetX',))
    key = manifest.keys()[0]
    holder = sleeper()
    claim = tmp_path / 'claims' / f'{key}.claim'
    claim.parent.mkdir(exist_ok=True)
    claim.write_text(ClaimInfo(key, holder.pid, socket.gethostname(),
                               process_start_time(holder.pid), time.time(), 'x').to_json())

    def sibling_finishes():          # once the worker announced its wait
        deadline = time.time() + 60
        while time.time() < deadline and not [
                e for e in StudyDir(tmp_path).read_events() if e['event'] == 'waiting']:
            time.sleep(0.05)
        ResultStore(tmp_path / 'results').write(ModelResult.done(key, 10.0, 10.0, (10.0,)))
        claim.unlink()

    monkeypatch.setattr(worker, 'time', _NoLongSleep(1.0))
    finisher = threading.Thread(target=sibling_finishes)
    finisher.start()
    try:
        report = run_worker(tmp_path, CHEAP, TrainOptions(), poll_s=3600.0)
    finally:
        finisher.join()
        holder.kill()
        holder.wait()
    assert report.trained == [] and report.failed == []
    assert starts_per_key(tmp_path) == {}          # the sibling's model, not retrained


def test_wait_for_release_watches_the_first_claims_only_until_the_timeout(tmp_path):
    from regnet_plugin.studies.worker import wait_for_release
    book = ClaimBook(tmp_path)
    held = [book.try_claim(k) for k in ('a', 'b', 'c')]
    assert wait_for_release(book, ['a', 'b', 'c'], timeout_s=0.3, step_s=0.1) is False
    held[2].release()                       # not among the watched ones
    assert wait_for_release(book, ['a', 'b', 'c'], 0.3, step_s=0.1, watch=2) is False
    held[1].release()
    assert wait_for_release(book, ['a', 'b', 'c'], 3600.0, watch=2) is True
    held[0].release()


def test_the_driver_reads_each_final_result_once(tmp_path, monkeypatch):
    """The progress display re-reads only results that may still change: a final
    result is read once (a thousand-model study would re-read and checksum them all
    every second, on the cores that train)."""
    from regnet_plugin.studies.executors import ProgressMonitor
    manifest = make_study(tmp_path, n=2)
    store = ResultStore(tmp_path / 'results')
    first, *rest = manifest.keys()
    store.write(ModelResult.done(first, 10.0, 10.0, (10.0,)))
    old_failure = ModelResult.failed(rest[0], 'boom', finished_at=time.time() - 60)
    store.write(old_failure)
    reads = []
    peek = ResultStore.peek
    monkeypatch.setattr(ResultStore, 'peek',
                        lambda self, key: reads.append(key) or peek(self, key))
    monitor = ProgressMonitor(StudyDir(tmp_path), manifest, time.time() - 1, enabled=False)
    assert monitor.finished == 1 and sorted(reads) == sorted(manifest.keys())
    reads.clear()
    store.write(ModelResult.done(rest[1], 12.0, 12.0, (12.0,)))
    assert monitor.poll() == 2
    assert sorted(reads) == sorted(rest)    # the failure to retry is read again
    reads.clear()
    assert monitor.poll() == 2 and sorted(reads) == sorted([rest[0], *rest[2:]])
