"""The music valence-arousal judge: a small CNN that reads a log-mel and says how it feels.

:mod:`.model` (the network and its frozen, differentiable loss), :mod:`.folder` (its ``va_judge/`` folder:
``config.json`` + ``model.safetensors``), :mod:`.agreement` (distance, sign agreement, quadrant accuracy,
Spearman rho). Trained by ``art2music train-va-judge`` (:mod:`art2music.training.va_judge`); used as a metric by
``art2music evaluate`` and the render gallery, and as a loss by stage-1 training.
"""

from art2music.emotion_judge.agreement import va_agreement
from art2music.emotion_judge.folder import JUDGE_DIR, find_va_judge, load_va_judge, save_va_judge
from art2music.emotion_judge.model import VAJudge, VAJudgeConfig

__all__ = ["JUDGE_DIR", "VAJudge", "VAJudgeConfig", "find_va_judge", "load_va_judge", "save_va_judge", "va_agreement"]
