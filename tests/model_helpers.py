"""Helpers shared by the model tests (tests/ is on sys.path via its conftest)."""


def randomize_state_(model, scale: float = 0.3, offset_scale: float = 0.1, seed: int = 0):
    """Random values in every floating state tensor of ``model`` (weights, BN
    statistics, zero-initialised gammas, DCN offsets), in place: fresh initial values
    (unit BN, zero gammas) would hide mapping mistakes between two implementations.
    Variances stay in [0.5, 1.5); DCN offsets get ``offset_scale``."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                if name.endswith('running_var'):
                    tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
                else:
                    tensor.copy_(torch.randn(tensor.shape, generator=gen)
                                 * (offset_scale if 'offset' in name else scale))
    return model
