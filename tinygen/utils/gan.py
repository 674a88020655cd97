"""What the GAN lessons share: DCGAN's weight initialisation.

It lives in the workbench, not in ``tinygen.nn.init``, because it has to know
the layer classes (``nn.init`` is what the layers themselves import).
"""
from ..nn import init
from ..nn.layers import Conv2d, ConvTranspose2d, Linear, UpsampleConv2d
from ..nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm


def dcgan_init(module):
    """DCGAN's init (Radford et al. 2015, section 4) of one module, in place.

    Conv, transposed-conv and linear weights ~ N(0, 0.02), their biases 0;
    normalisation scales ~ N(1, 0.02), shifts 0. Other modules are left
    alone. Use as ``model.apply(dcgan_init)``; draws from tinygen's global
    generator (``tg.manual_seed``).
    """
    if isinstance(module, (Conv2d, ConvTranspose2d, Linear, UpsampleConv2d)):
        init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            init.zeros_(module.bias)
    elif isinstance(module, (BatchNorm1d, BatchNorm2d, LayerNorm)) and module.weight is not None:
        init.normal_(module.weight, 1.0, 0.02)
        init.zeros_(module.bias)
