"""EDFHook: the bridge between one model's training run and its study.

Put into every per-model config by ``sample`` (``custom_hooks``), it

* stops training with a clear ``NonFiniteLossError`` as soon as the loss is NaN or
  infinite (the worker records the model as failed with that reason);
* records top-1 validation error (``100 - accuracy/top1``) after each validation;
* after training writes the model's result (final and best error, history) into
  the study's results atomically, then refreshes the study's live EDF/bootstrap
  summary (``analysis/live/``) over every model finished so far and logs the EDF
  plot and statistics through the Runner's visualizer (``add_image`` /
  ``add_scalars``: LocalVisBackend, TensorboardVisBackend, WandB... alike).
"""
from __future__ import annotations

import math
import time
from typing import Any, Optional

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ..validate import check_number
from .layout import StudyDir
from .results import ModelResult, ResultStore

DEFAULT_METRIC = 'accuracy/top1'


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


class EDFHook(Hook):
    """Record a study model's validation error and refresh the study's EDF summary.

    Args:
        study_dir: the study directory (``sample`` fills it in).
        model_key: the model's key in the study's manifest.
        metric: validation metric giving top-1 accuracy in percent.
        check_loss: raise ``NonFiniteLossError`` on a NaN/inf training loss.
        refresh_summary: after training, recompute the study's live summary and
            log it through the visualizer.
        summary_interval_s: refresh it only when the last refresh (by any model of
            the study) is at least this old; 0 refreshes after every model. With
            many small models (the CPU demo) a refresh per model costs a few percent
            of the study's time; ``analyze`` (run by ``run`` at the end) is complete
            either way.
    """

    priority = 'LOW'

    def __init__(self, study_dir: str, model_key: str, metric: str = DEFAULT_METRIC,
                 check_loss: bool = True, refresh_summary: bool = True,
                 summary_interval_s: float = 0.0) -> None:
        if not model_key:
            raise ValueError('EDFHook needs the model_key of the study model it records')
        self.study = StudyDir(study_dir)
        self.model_key = str(model_key)
        self.metric = metric
        self.check_loss = bool(check_loss)
        self.refresh_summary = bool(refresh_summary)
        self.summary_interval_s = check_number('summary_interval_s', summary_interval_s, 0)
        self.history: list[float] = []
        self.start_time = time.time()

    # -- training ---------------------------------------------------------------
    def before_train(self, runner) -> None:
        self.start_time = time.time()
        self.history = []

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        if not self.check_loss or not outputs or 'loss' not in outputs:
            return
        loss = outputs['loss']
        finite = bool(torch.isfinite(loss).all()) if isinstance(loss, torch.Tensor) \
            else math.isfinite(float(loss))
        if not finite:
            raise NonFiniteLossError(
                f'loss became NaN or infinite at iteration {runner.iter + 1} '
                f'(epoch {runner.epoch + 1}) of {self.model_key}')

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics:
            return
        if self.metric not in metrics:
            raise KeyError(f'EDFHook needs the validation metric {self.metric!r}, got '
                           f'{sorted(metrics)}; set val_evaluator=dict(type=\'Accuracy\', '
                           f'topk=(1,)) or EDFHook(metric=...)')
        self.history.append(100.0 - float(metrics[self.metric]))

    def after_train(self, runner) -> None:
        if not self.history and getattr(runner, 'val_loop', None) is not None:
            runner.val_loop.run()          # a config that never validated: do it once
        if not self.history:
            raise RuntimeError(f'{self.model_key}: training produced no validation '
                               f'metric {self.metric!r}; configure val_dataloader, '
                               f'val_evaluator and val_cfg')
        final = self.history[-1]
        if not math.isfinite(final):
            raise NonFiniteLossError(f'{self.model_key}: validation error is {final}')
        result = ModelResult.done(
            self.model_key, final, min(h for h in self.history if math.isfinite(h)),
            tuple(self.history), epochs=int(runner.epoch),
            train_seconds=time.time() - self.start_time,
            extra={'metric': self.metric, 'work_dir': str(runner.work_dir)})
        if not is_main_process():
            return
        ResultStore(self.study.results).write(result)
        runner.logger.info(f'[study] {self.model_key}: final top-1 error {final:.2f}%, '
                           f'best {result.best_error:.2f}%')
        if self.refresh_summary and self._summary_due():
            self._log_study(runner)

    def _summary_due(self) -> bool:
        if self.summary_interval_s <= 0:
            return True
        try:
            refreshed = (self.study.analysis / 'live' / 'summary.json').stat().st_mtime
        except OSError:
            return True
        return time.time() - refreshed >= self.summary_interval_s

    # -- study summary ------------------------------------------------------------
    def _log_study(self, runner) -> None:
        from .live import refresh_live_summary
        try:
            live = refresh_live_summary(self.study)
        except Exception as exc:  # noqa: BLE001  (the model's result is safe already)
            runner.logger.warning(f'[study] could not refresh the study summary: {exc}')
            return
        step = live.finished
        if live.edf_image is not None:
            runner.visualizer.add_image('study_edf', live.edf_image, step=step)
        if live.scalars:
            runner.visualizer.add_scalars(live.scalars, step=step)
        runner.logger.info(f'[study] {live.finished} model(s) finished; summary in '
                           f'{live.summary_path}')

