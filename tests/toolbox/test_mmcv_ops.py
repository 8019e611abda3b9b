"""mmcv must be the full build: its compiled ops run on the CPU.

torchvision's own CPU kernels are the independent reference.
"""
import torch
import torchvision.ops as tv_ops


def test_mmcv_has_compiled_ops():
    import mmcv
    from mmcv.utils import ext_loader

    ext = ext_loader.load_ext('_ext', ['nms', 'roi_align_forward'])
    assert mmcv.__version__ == '2.1.0'
    assert hasattr(ext, 'nms') and hasattr(ext, 'roi_align_forward')


def test_nms_matches_torchvision_on_cpu():
    from mmcv.ops import nms

    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=gen) * 100
    wh = torch.rand(200, 2, generator=gen) * 30 + 1
    boxes = torch.cat([xy, xy + wh], dim=1)
    scores = torch.rand(200, generator=gen)
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    expected = tv_ops.nms(boxes, scores, 0.5)
    assert keep.tolist() == expected.tolist()
    assert torch.equal(dets[:, 4], scores[expected])
    assert 0 < len(keep) < 200  # the threshold really suppressed some boxes


def test_roi_align_matches_torchvision_on_cpu():
    from mmcv.ops import RoIAlign

    gen = torch.Generator().manual_seed(1)
    feats = torch.rand(2, 8, 32, 32, generator=gen, requires_grad=True)
    rois = torch.tensor([[0, 1.0, 2.0, 20.0, 25.0],
                         [1, 4.5, 3.2, 30.0, 18.7],
                         [0, 0.0, 0.0, 31.0, 31.0]])
    ours = RoIAlign((7, 7), spatial_scale=0.5, sampling_ratio=2, aligned=True)(feats, rois)
    ref = tv_ops.roi_align(feats, rois, (7, 7), spatial_scale=0.5, sampling_ratio=2,
                           aligned=True)
    assert ours.shape == (3, 8, 7, 7)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    ours.sum().backward()  # the backward kernel is compiled too
    assert feats.grad is not None and feats.grad.abs().sum() > 0
