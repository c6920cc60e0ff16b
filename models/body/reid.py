"""Body descriptors (person re-identification) with OSNet-family models: a slot.

OSNet (Zhou et al., ICCV 2019; torchreid, MIT code) embeds a person crop in a space where
crops of one person lie close. torchreid's test transform resizes the body box to 256x128
(height x width, without keeping the aspect: the network was trained on such stretched
crops), takes RGB values in [0, 1] and normalises them with the ImageNet mean and standard
deviation; the network returns a 512-d feature, compared by cosine after L2 normalisation.

No re-identification model trained for the task ships in a package on PyPI (ImageNet
backbones do, but their same/different-person similarities overlap), so no model is in the
default manifest: a user points a ``body_descriptor`` estimator at an ONNX export of their own
(``source: {path: ...}``, family ``osnet``). Any output width is accepted (OSNet-x0.25 and
larger give 512, ResNet-50 re-ID models 2048); a fixed batch of 1 is run a crop at a time and
a fixed input size sets the crop size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.base import Adapter
from models.runtime import OnnxModel, RuntimeOptions

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class BodyDescriptor:
    """A unit-length body descriptor and the norm of the raw feature it came from."""

    vector: np.ndarray
    norm: float


class OsNetBodyDescriptor(Adapter):
    """L2-normalised re-identification embeddings of body boxes."""

    task = "body_descriptor"
    family = "osnet"

    def __init__(
        self,
        model_path: Path | str,
        runtime: RuntimeOptions | None = None,
        input_height: int = 256,
        input_width: int = 128,
    ) -> None:
        """``input_height`` and ``input_width``: the crop size when the graph leaves it open."""
        self.model = OnnxModel(model_path, runtime)
        self.default_size = (int(input_width), int(input_height))

    def sessions(self) -> list[OnnxModel]:
        """The re-identification graph."""
        return [self.model]

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the crop: the graph's, when it fixes them."""
        return self.model.image_size(self.default_size)

    def prepare(self, item: tuple[np.ndarray, Sequence[float]]) -> np.ndarray:
        """The normalised CHW crop of ``(image, box)``: a BGR image and an (x1, y1, x2, y2) box.

        The box is clipped to the image (a detector's box may reach past an edge).
        """
        image, box = item
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box[:4])
        left, top = min(max(round(x1), 0), width - 1), min(max(round(y1), 0), height - 1)
        right = min(max(round(x2), left + 1), width)
        bottom = min(max(round(y2), top + 1), height)
        crop = image[top:bottom, left:right]
        # Bilinear, as torchvision's Resize in torchreid's transforms.
        crop = cv2.resize(crop, self.input_size, interpolation=cv2.INTER_LINEAR)
        rgb = crop[..., ::-1].astype(np.float32) / 255.0
        return ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)

    def infer(self, crops: Sequence[np.ndarray]) -> list[BodyDescriptor]:
        """Descriptor of each prepared crop, as one batch."""
        if not crops:
            return []
        blob = np.ascontiguousarray(np.stack(crops), dtype=np.float32)
        features = self.model.run_first(blob).reshape(len(crops), -1).astype(np.float32)
        norms = np.linalg.norm(features, axis=1)
        vectors = features / np.maximum(norms, 1e-12)[:, None]
        return [BodyDescriptor(v, float(n)) for v, n in zip(vectors, norms, strict=True)]
