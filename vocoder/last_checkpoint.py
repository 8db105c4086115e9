"""Keep what was trained when a run stops between two rolling checkpoints.

A run stopped by ``--trainer.max_time`` (as ``make demo-train`` stops each stage) or by ``max_steps`` between two
``every_n_train_steps`` saves leaves ``last.ckpt`` at the previous save, so exporting or resuming it silently drops
up to that many steps. :class:`SaveLastAtStop` writes ``last.ckpt`` once more when fitting ends normally, into the
folder of every :class:`~lightning.pytorch.callbacks.ModelCheckpoint` that keeps one (``save_last``). A run that is
killed keeps its rolling checkpoint as before.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import Callback, ModelCheckpoint


class SaveLastAtStop(Callback):
    """On a normal end of ``fit``, save the trainer's state as ``last.ckpt`` beside each ``save_last`` checkpoint."""

    def on_train_end(self, trainer, pl_module) -> None:
        folders = {Path(callback.dirpath) for callback in trainer.callbacks
                   if isinstance(callback, ModelCheckpoint) and callback.save_last and callback.dirpath}
        for folder in sorted(folders):
            # the whole state (optimizers, loops, callbacks) so a run resumes from it; saying so also keeps Lightning
            # from logging "`weights_only` was not set, defaulting to `False`" at every end of fit
            trainer.save_checkpoint(folder / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}{ModelCheckpoint.FILE_EXTENSION}",
                                    weights_only=False)
