"""The augment module: transforms against torchvision's functional ops on the same tensors, seeds,
errors, and the augmentation over-sampler as an imbalanced-learn sampler."""
import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from sklearn.base import clone

from rebalance.augment import AugmentationOverSampler, augment


@pytest.fixture(scope="module")
def images(digits):
    """The digits' 8x8 images as [N, 1, 8, 8] float32 in [0, 1]; labels 178/100/40/15."""
    x, y = digits
    return np.ascontiguousarray((x / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)), y


def test_ops_match_torchvision(images):
    x, _ = images
    rgb = np.ascontiguousarray(np.random.RandomState(0).rand(16, 3, 12, 10).astype(np.float32))
    for arr in (x, rgb):
        t = torch.from_numpy(arr)
        np.testing.assert_array_equal(augment(arr, "hflip:p=1"), TF.hflip(t).numpy())
        np.testing.assert_array_equal(augment(arr, "vflip:p=1"), TF.vflip(t).numpy())
        for sigma in (0.7, 1.0):
            k = 2 * int(np.ceil(3 * sigma)) + 1
            if k >= min(arr.shape[2:]):
                continue
            np.testing.assert_allclose(augment(arr, f"blur:sigma={sigma}"), TF.gaussian_blur(t, [k, k], [sigma, sigma]).numpy(),
                                       atol=1e-6)
        np.testing.assert_allclose(augment(arr, "brightness:factor=[1.3,1.3]"), TF.adjust_brightness(t, 1.3).numpy(),
                                   atol=1e-6)
        np.testing.assert_allclose(augment(arr, "contrast:factor=[0.6,0.6]"), TF.adjust_contrast(t, 0.6).numpy(),
                                   atol=1e-6)
    # 90 degrees on square images: torch.rot90 towards the last axis (clockwise as shown, y down).
    np.testing.assert_allclose(augment(x, "rotate:degrees=[90,90]"), torch.rot90(torch.from_numpy(x), -1, (2, 3)).numpy(),
                               atol=1e-5)


def test_seeds_input_and_errors(images):
    x, _ = images
    spec = "rotate:degrees=15+zoom+translate+hflip|blur:sigma=1"
    a, b = augment(x, spec, 3), augment(x, spec, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, augment(x, spec, 4))
    before = x.copy()
    augment(x, spec, 0)
    assert np.array_equal(x, before)
    assert augment(x.astype(np.float64), spec, 3).dtype == np.float64
    with pytest.raises(ValueError, match='unknown augmentation "swirl"'):
        augment(x, "swirl")
    with pytest.raises(ValueError, match=r"images \[N, C, H, W\]"):
        augment(x.reshape(len(x), -1), "hflip")
    with pytest.raises(ValueError, match="float32 or float64"):
        augment(x.astype(np.uint8), "hflip")


def test_over_sampler_tops_up_rare_classes(images):
    x, y = images
    s = AugmentationOverSampler(min_count=60, transforms="hflip:p=1|vflip:p=1", random_state=0)
    xr, yr = s.fit_resample(x, y)
    assert np.bincount(yr).tolist() == [178, 100, 60, 60]
    assert xr.shape[1:] == (1, 8, 8)
    new = np.flatnonzero(s.origin_ < 0)
    assert len(new) == 20 + 45
    for i in new:
        src = x[s.parents_[i, 0]]
        assert yr[i] == y[s.parents_[i, 0]]
        assert np.array_equal(xr[i], src[:, :, ::-1]) or np.array_equal(xr[i], src[:, ::-1, :])
    assert np.array_equal(xr[: len(x)], x)
    c = clone(s)
    assert c.get_params() == s.get_params()
    xr2, _ = c.fit_resample(x, y)
    assert np.array_equal(xr, xr2)
    with pytest.raises(ValueError, match="not both"):
        AugmentationOverSampler(min_count=10, sampling_strategy="minority").fit_resample(x, y)
