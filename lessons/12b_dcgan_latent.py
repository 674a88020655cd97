# %% [markdown]
# # Lesson 12b: the DCGAN's latent space, and its discriminator as a feature extractor
#
# Lesson 12 trained a DCGAN (Radford, Metz & Chintala 2015) on
# Fashion-MNIST. This lesson takes its trained pair and does what the
# paper's sections 5 and 6 and the lecture's slides do with it:
# - interpolation between two codes z, straight (lerp) against along the
#   sphere (slerp, the "GAN hacks" slide);
# - latent vector arithmetic (the paper's "smiling woman" figure), with
#   the class-mean codes picked by a Fashion-MNIST classifier;
# - the discriminator as a feature extractor: a linear classifier on its
#   frozen features against the same classifier on raw pixels.
#
#     .venv/bin/python lessons/12_dcgan.py                   # first: trains the pair into runs/12_dcgan
#     .venv/bin/python lessons/12b_dcgan_latent.py           # then this, a few minutes on a 2-core CPU
#     .venv/bin/python lessons/12b_dcgan_latent.py --quick   # a few steps; trains lesson 12 --quick first if need be
#     .venv/bin/python lessons/12b_dcgan_latent.py --resume  # continue an interrupted run
#
# Outputs in `--out` (default `runs/12b_dcgan_latent`): `interpolation.png`,
# `arithmetic.png`, `metrics.json` (the midpoints' norms and the
# classifier's confidence, the arithmetic's verdicts, the linear-probe
# accuracies), and per probe (`probe_*`) a log `<probe>.jsonl` and a
# resumable checkpoint `<probe>.npz`.

# %%
import os

import numpy as np

import tinygen as tg
import tinygen.nn.functional as F
from tinygen.utils import viz
from tinygen.utils.data import FASHION_MNIST_CLASSES, load_train_test
from tinygen.utils.dcgan_extras import load_dcgan, plot_panels, run_lesson_12_quick
from tinygen.utils.gan import dcgan_init, generate
from tinygen.utils.gan_models import dcgan_critic, dcgan_generator
from tinygen.utils.latent import interpolate
from tinygen.utils.metrics import predict_proba
from tinygen.utils.probe import linear_probe
from tinygen.utils.run import RunDir, flag_error, int_list, lesson_parser, parse_args
from tinygen.utils.train import map_batches

parser = lesson_parser("DCGAN's latent space and D's features (Radford et al. 2015)", steps=1500,
                       out=os.path.join("runs", "12b_dcgan_latent"), datasets=("fashion-mnist", "mnist"))
parser.add_argument("--dcgan-run", default=os.path.join("runs", "12_dcgan"),
                    help="lesson 12's output folder, with its trained pair dcgan.npz")
parser.add_argument("--probe-labels", type=int_list(10), default=[1000, 10000],
                    help="comma-separated: labelled training images for the linear probes (one per class at least)")
args = parse_args(parser, quick={"steps": 4, "probe_labels": [40, 100]})
run = RunDir(args.out)

# %% [markdown]
# ## 1. Lesson 12's trained pair, and the data
#
# `dcgan.npz` holds lesson 12's G and D after training and the state of
# tinygen's random generator at that point. The networks are rebuilt from
# the workbench's copies (`tinygen.utils.gan_models`: `dcgan_generator`,
# and `dcgan_critic` with BatchNorm), which the tests hold equal to lesson
# 12's own `make_generator` and `make_discriminator`. Loading the file also
# restores the generator's state, so the first codes drawn here are the
# `--eval-samples` codes lesson 12 scored. With `--quick` and no
# `dcgan.npz` in `--dcgan-run`, lesson 12 first runs with `--quick` into
# `<out>/12_dcgan`. `--steps` is each linear probe's number of training
# steps (section 4).

# %%
if not (args.quick or os.path.exists(os.path.join(args.dcgan_run, "dcgan.npz"))):
    flag_error(parser, "--dcgan-run", f"expected lesson 12's {os.path.join(args.dcgan_run, 'dcgan.npz')}, got none "
               "(run lessons/12_dcgan.py first)", FileNotFoundError)
x_train, y_train, x_test, y_test = load_train_test(args.dataset, args.data_dir, value_range=(-1.0, 1.0),
                                                   limit=256 if args.quick else None)
if max(args.probe_labels) > len(x_train):
    parser.error(f"--probe-labels: at most the {len(x_train)} training images, got {args.probe_labels}")
if not os.path.exists(os.path.join(args.dcgan_run, "dcgan.npz")):        # --quick: train lesson 12 briefly
    args.dcgan_run = run_lesson_12_quick(run.file("12_dcgan"), "--seed", args.seed, "--dataset", args.dataset,
                                         *(["--data-dir", args.data_dir] if args.data_dir else []))
G, D, trained = load_dcgan(args.dcgan_run, args.device)
eval_z = tg.randn(trained["eval_samples"], trained["z_dim"], device=args.device)   # lesson 12's scored codes
eval_probs = predict_proba(generate(G, eval_z))          # the classifier's verdicts, for section 3
print(f"lesson 12's pair after {trained['steps']} steps; {len(eval_z)} of its scored codes decoded and classified")

# %% [markdown]
# ## 2. Walking the latent space
#
# ### Linear against spherical interpolation
#
# z ~ N(0, I) in 100 dimensions almost always has norm close to √100 = 10
# (the norm's standard deviation is about 0.7): the prior's mass lies on a
# thin shell. The straight line between two such codes cuts through the
# inside: at its midpoint the norm is about 10/√2 ≈ 7.1 for two
# independent codes, where G never saw a single training code. White 2016,
# "Sampling Generative Networks", recommends the spherical path (slerp,
# `tinygen.utils.latent.slerp`), which stays on the shell. The grid shows
# pairs of codes, each decoded along lerp (upper row) and slerp (lower row);
# `metrics.json` has the midpoints' norms and, over 500 pairs, the
# classifier's mean confidence on the midpoints.
#
# In seed 0's run (lesson 12's defaults) the lerp midpoints have norm
# 7.07 and the slerp ones 10.02, as the argument says; yet the decoded paths look almost the same,
# and the classifier is about as sure of them (mean top probability 0.675
# for lerp midpoints, 0.689 for slerp, 0.700 at the endpoints). Here the
# first layer of G is linear in z and followed by BatchNorm, so a shorter z
# mostly lowers the contrast of the same picture. slerp is the safer habit,
# and matters more for uniform priors and for generators that are less
# smooth inside the sphere (White 2016), but on this G lerp is no disaster.

# %%
n_pairs = 500 if not args.quick else 20
z0, z1 = tg.randn(n_pairs, trained["z_dim"]).numpy(), tg.randn(n_pairs, trained["z_dim"]).numpy()
rows, labels = [], []
for i in range(4):
    for method in ("lerp", "slerp"):
        path = interpolate(z0[i], z1[i], steps=10, method=method).astype(np.float32)
        rows.append(generate(G, tg.tensor(path, device=args.device)))
        labels.append(f"pair {i + 1}: {method}")
viz.save_image_rows(rows, run.file("interpolation.png"), labels=labels, value_range=(-1, 1),
                    title="From z0 (left) to z1 (right): straight line (lerp) and great circle (slerp)")
midpoint = {}
for method in ("lerp", "slerp"):
    mid = interpolate(z0, z1, steps=3, method=method)[1].astype(np.float32)     # t = 1/2, (n_pairs, z_dim)
    p = predict_proba(generate(G, tg.tensor(mid, device=args.device)))
    midpoint[method] = {"norm": float(np.linalg.norm(mid, axis=1).mean()), "confidence": float(p.max(1).mean())}
ends_confidence = float(predict_proba(generate(G, tg.tensor(z0, device=args.device))).max(1).mean())
print(f"midpoints: lerp |z| {midpoint['lerp']['norm']:.2f}, classifier confidence "
      f"{midpoint['lerp']['confidence']:.3f}; slerp |z| {midpoint['slerp']['norm']:.2f}, "
      f"{midpoint['slerp']['confidence']:.3f} (endpoints: |z| ≈ {np.linalg.norm(z0, axis=1).mean():.2f}, "
      f"{ends_confidence:.3f})")

# %% [markdown]
# ## 3. Latent vector arithmetic
#
# Radford et al. (section 6.3, figure 7) averaged the codes of three
# "smiling woman" samples, subtracted those of "neutral woman", added
# "neutral man", and decoded a smiling man: directions in z space carry
# meaning. Averaging matters: single codes were unstable.
#
# Here the classifier picks the codes: of the 10,000 evaluation samples,
# those it labels confidently (p ≥ 0.9) give each class's mean code. An
# equation such as "pullover − T-shirt + dress" asks for the direction
# "long sleeves" (pullover minus T-shirt) added to a dress. A mean of many
# codes has a small norm (the random parts cancel), and G was trained on
# codes of norm ≈ 10, so each result is rescaled to norm √z_dim before it
# is decoded; the variants beside it add Gaussian N(0, 0.25²) noise to the
# result. Here the lesson differs from the paper: Radford et al.'s figure 7
# adds *uniform* noise of ±0.25 (standard deviation 0.25/√3 ≈ 0.14), so our
# variants stray somewhat further from the result. The classifier's verdict
# is printed over every decoded result.
#
# In seed 0's run (`arithmetic.png`) the results are the garments the
# equations ask for. Pullover − T-shirt + dress decodes to a long,
# long-sleeved garment, which the classifier calls a pullover (79%).
# Ankle boot − sneaker + sandal is a boot with the sandal's gaps (ankle
# boot, 64%). Trouser − dress + coat is a coat split into two legs, a
# jumpsuit; Fashion-MNIST has no such class, and the classifier says coat
# (60%; one variant says trouser). Sneaker − sandal + ankle boot is a closed
# ankle boot (100%). The noisy variants mostly keep the verdict, so the
# directions are stable, not accidents of one code.

# %%
EQUATIONS = [("Pullover", "T-shirt/top", "Dress"),   # long sleeves, on a dress
             ("Ankle boot", "Sneaker", "Sandal"),    # a high shaft, on a sandal
             ("Trouser", "Dress", "Coat"),           # two legs instead of a skirt, on a coat
             ("Sneaker", "Sandal", "Ankle boot")]    # closed and low, on a boot


def rescale(z):
    return z * (np.sqrt(z.shape[-1]) / np.linalg.norm(z, axis=-1, keepdims=True))


def latent_arithmetic(z, probs, equations, variants=5, threshold=0.9):
    """Decode mean(a) - mean(b) + mean(c) for class names (a, b, c), class means over confident samples.

    Args:
        z: NumPy (N, z_dim) codes; probs: NumPy (N, 10) the classifier's softmax on G(z).

    Returns:
        (panels, results): for each equation a list of (image (1, 28, 28), caption); and a list of
        JSON-ready dicts (the equation, the class counts used, the verdict on the result).
    """
    names = list(FASHION_MNIST_CLASSES)
    pred, conf = probs.argmax(1), probs.max(1)
    panels, results = [], []
    for a, b, c in equations:
        ids = [names.index(n) for n in (a, b, c)]
        chosen = [(pred == k) & (conf >= threshold) for k in ids]
        if min(m.sum() for m in chosen) < 1:
            results.append({"equation": f"{a} - {b} + {c}", "skipped": "a class has no confident sample"})
            continue
        means = [z[m].mean(0) for m in chosen]
        target = rescale(means[0] - means[1] + means[2])
        noise = np.random.default_rng(args.seed).standard_normal((variants, z.shape[1])) * 0.25
        codes = np.concatenate([rescale(np.stack(means)), target[None], rescale(target + noise)]).astype(np.float32)
        images = generate(G, tg.tensor(codes, device=args.device))
        p = predict_proba(images)
        verdicts = [f"{names[k]} {p[i, k]:.0%}" for i, k in enumerate(p.argmax(1))]
        panel = [(images[0], f"{a}\n({chosen[0].sum()} codes)"), (images[1], f"− {b}\n({chosen[1].sum()})"),
                 (images[2], f"+ {c}\n({chosen[2].sum()})")]
        panel += [(images[i], ("= " if i == 3 else "") + verdicts[i].replace(" ", "\n")) for i in range(3, len(images))]
        panels.append(panel)
        results.append({"equation": f"{a} - {b} + {c}", "codes_per_class": [int(m.sum()) for m in chosen],
                        "verdict": names[p[3].argmax()], "verdict_p": float(p[3].max()),
                        "verdict_probs": {n: round(float(v), 4) for n, v in zip(names, p[3]) if v >= 0.01},
                        "variants_verdicts": [names[k] for k in p[4:].argmax(1)],
                        "class_means_verdicts": [names[k] for k in p[:3].argmax(1)]})
    return panels, results


panels, arithmetic = latent_arithmetic(eval_z.numpy(), eval_probs, EQUATIONS)
if panels:
    plot_panels(panels, run.file("arithmetic.png"),
                "mean code of A − mean code of B + mean code of C, decoded; the classifier's verdict above")
for r in arithmetic:
    print(f"{r['equation']} -> " + (f"{r['verdict']} ({r['verdict_p']:.0%}); variants {r['variants_verdicts']}"
                                    if "verdict" in r else r["skipped"]))

# %% [markdown]
# ## 4. The discriminator as a feature extractor
#
# To tell real from generated garments, D must learn what garments look
# like, without a single label. Radford et al. (section 5.1) used a trained
# D's features, max-pooled to 4x4 per layer, as the input of a linear
# classifier: on CIFAR-10 this beat k-means features (the lecture's
# evaluation slide: "use D features, only fine-tune the last layer").
#
# We do the same: freeze D (eval mode, no graph), take both hidden layers
# (the slices `D[:2]` and `D[2:5]` of its layer sequence), max-pool them to
# 4x4 (64·16 + 128·16 = 3,072 features), and train a linear softmax head,
# Linear(3072, 10) with cross-entropy, for `--steps` steps on
# `--probe-labels` labelled training images: lesson 02's linear probe
# (`train_head` there, `tinygen.utils.probe.linear_probe` here). Two baselines get the same head, steps and
# labels: the raw 784 pixels, and the features of an *untrained* D with the
# same architecture and init (random convolutions are a fair feature extractor
# themselves, so this isolates what training taught D). Every input is
# standardised with its labelled set's mean and standard deviation; the
# score is the accuracy on the 10,000 test images.
#
# Seed 0's run, test accuracy with 1,000 / 60,000 labels (`--probe-labels
# 1000,60000`): trained D's features 82.9% / 88.6%, untrained D's 82.5% /
# 87.7%, pixels 78.9% / 83.6%. D's features beat the pixels by about five
# points, but most of that is the convolutional architecture itself:
# random 4x4 filters, a LeakyReLU and max-pooling already make the
# features more linearly separable (a little translation invariance, many
# more dimensions). Training as a discriminator adds about one point. D
# only had to learn what tells real garments from this G's samples, which
# is not what tells a shirt from a coat; the paper's probe used a larger D,
# trained longer, on all its layers.

# %%
def d_features(D):
    """Frozen D's pooled hidden activations: images (n, 1, 28, 28) -> features float32 (n, 3072)."""
    D.eval()

    def fn(x):
        h1 = D[:2](x)                                      # conv, LeakyReLU: (n, w, 14, 14)
        h2 = D[2:5](h1)                                    # conv, BatchNorm, LeakyReLU: (n, 2w, 7, 7)
        p1, p2 = F.max_pool2d(h1, 4, 4, 1), F.max_pool2d(h2, 2, 2, 1)     # 14x14 and 7x7 -> 4x4
        return tg.cat([p1.reshape(x.shape[0], -1), p2.reshape(x.shape[0], -1)], dim=1)
    return fn


tg.manual_seed(args.seed + 1000)                           # an untrained pair, built as lesson 12 builds one:
dcgan_generator(trained["z_dim"], trained["g_width"]).apply(dcgan_init)   # G first (unused), then D
D_random = dcgan_critic(trained["d_width"]).apply(dcgan_init).to(args.device)
extractors = {"d": d_features(D), "d_untrained": d_features(D_random),
              "pixels": lambda x: x.reshape(x.shape[0], -1)}
order = np.random.default_rng(args.seed).permutation(len(x_train))
probe = {}
for kind, fn in extractors.items():
    feats_test = map_batches(fn, x_test, device=args.device)
    for n in args.probe_labels:
        picked = order[:n]
        feats = map_batches(fn, x_train[picked], device=args.device)
        probe[f"{kind}_{n}"] = linear_probe(feats, y_train[picked], feats_test, y_test, run, f"probe_{kind}_{n}",
                                            args.steps, seed=args.seed, resume=args.resume, device=args.device,
                                            print_every=2 if args.quick else 500, overwrite=True)
        del feats
for n in args.probe_labels:
    print(f"linear probe, {n} labels: D features {probe[f'd_{n}']:.1%}, untrained D {probe[f'd_untrained_{n}']:.1%}, "
          f"pixels {probe[f'pixels_{n}']:.1%}")

# %% [markdown]
# ## 5. The record

# %%
run.save_metrics({"dcgan_steps": trained["steps"], "seed": args.seed, "probe_steps": args.steps,
                  "interpolation_midpoints": midpoint, "interpolation_ends_confidence": ends_confidence,
                  "arithmetic": arithmetic, "probe_accuracy": probe})
print(f"done; outputs in {run.path}")
