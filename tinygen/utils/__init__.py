"""The course's workbench: everything a lesson needs that is not the engine.

Like ``torch.utils`` and torchvision, this is plumbing around the engine,
not part of it; the engine (``tinygen`` minus this folder) never imports it.

``data.py``        IDX reader, Fashion-MNIST / MNIST / image folders, ``Batches``
``viz.py``         image grids and rows, GIFs, loss plots, code scatters
``checkpoint.py``  resumable ``.npz`` checkpoints (models, optimizers, RNG)
``fileio.py``      atomic writes
``run.py``         the lessons' flags, output folder and JSONL logs
``train.py``       ``fit`` (a lesson's own step, with progress, checkpoints, resume), ``evaluate``
``progress.py``    the progress line (step, losses, it/s, ETA)
``latent.py``      ``lerp``, ``slerp``, interpolation paths, the 2-D Gaussian grid
``gan.py``         what GAN lessons share: flags, DCGAN's init, the gradient and R1 penalties, the fixed-z GIF, sampling, scores
``metrics.py``     the Fashion-MNIST classifier (shipped weights), IS, FID, class histogram, mode coverage
``probe.py``       the linear probe: a linear softmax head on frozen features (lessons 02, 12b)
``dcgan_extras.py`` lessons 12/12b: the DCGAN rule checker, their figures, lesson 12's trained pair
``toy.py``         the 2-D Gaussian mixtures (ring, grid) of the toy GAN
``ema.py``         ``EMA``: a moving average of a model's weights, with a warm-up (ProGAN's G smoothing)
``lapgan.py``      lesson 20: its flags, the pyramid and chain figures
``progan.py``      lesson 21: its flags, ``resolutions``, ``FullSize``, the FID-over-time callback and figure
``stylegan.py``    lesson 22: its flags, the perceptual path length, the noise statistics, the mixing/noise/comparison figures
``benchmark.py``   the WGAN-GP step benchmark, ``python3 -m tinygen.utils.benchmark``
"""
