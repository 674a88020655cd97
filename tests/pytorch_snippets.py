"""Short programs written as a PyTorch user writes them, to measure how many run on tinygen.

``SNIPPETS`` is a list of ``(name, code)``. Each ``code`` uses only the names
``torch``, ``nn`` (torch.nn), ``F`` (torch.nn.functional) and ``optim``
(torch.optim), and ends by assigning its result to ``out``: a tensor, a
number, a bool, a shape, a string, or a tuple/list of those.

The inputs are deterministic. Where randomness is the point (``randn``,
``nn.init``, dropout), ``out`` is a fact about the result that any correct
engine reproduces: a shape, a bound, or a statistic of a large sample rounded
coarsely.

``tests/make_pytorch_expected.py`` runs these under real PyTorch and writes
``tests/data/pytorch_expected.json``; ``tests/test_pytorch_api.py`` runs them
on tinygen and compares.
"""
import textwrap

_RAW = [
    # ------------------------------------------------------------ creation
    ("tensor_2d", """
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        out = x
    """),
    ("tensor_int_list", """
        out = torch.tensor([1, 2, 3])
    """),
    ("dtype_kwargs", """
        x = torch.tensor([1, 2, 3], dtype=torch.float64)
        y = torch.ones(2, 2, dtype=torch.float32)
        out = (x, y, x.dtype == torch.float64, y.dtype == torch.float32)
    """),
    ("zeros_ones_full_eye", """
        out = (torch.zeros(2, 3), torch.ones((3,)), torch.full((2, 3), 7.0), torch.eye(3))
    """),
    ("arange_linspace", """
        out = (torch.arange(5), torch.arange(0, 1, 0.25), torch.arange(2, 8, 2), torch.linspace(-1, 1, 5))
    """),
    ("like_functions", """
        x = torch.arange(6.0).reshape(2, 3)
        out = (torch.zeros_like(x), torch.ones_like(x), torch.full_like(x, 2.5))
    """),
    ("random_shapes", """
        x = torch.randn(4, 3)
        y = torch.randn_like(torch.zeros(2, 5, dtype=torch.float64))
        out = (x.shape, x.dtype == torch.float32, y.shape, y.dtype == torch.float64, torch.empty(2, 3).shape)
    """),
    ("random_statistics", """
        torch.manual_seed(0)
        x = torch.randn(10000)
        r = torch.rand(1000)
        out = (round(x.mean().item(), 1), round(x.std().item(), 1), (r >= 0).all().item(), (r < 1).all().item())
    """),

    # ------------------------------------------------------------ reductions
    ("sum_dim_keepdim", """
        x = torch.arange(12.0).reshape(3, 4)
        out = x.sum(dim=1, keepdim=True)
    """),
    ("sum_negative_dim_and_all", """
        x = torch.arange(12.0).reshape(3, 4)
        out = (x.sum(-1), x.sum(0), x.sum().item())
    """),
    ("mean_tuple_dims", """
        x = torch.arange(24.0).reshape(1, 2, 3, 4)
        out = x.mean(dim=(2, 3))
    """),
    ("mean_tuple_dims_keepdim", """
        x = torch.arange(24.0).reshape(1, 2, 3, 4)
        out = x.mean(dim=[2, 3], keepdim=True)
    """),
    ("max_dim_values", """
        x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        out = x.max(dim=1).values
    """),
    ("max_min_dim_unpack", """
        x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        values, indices = x.max(1)
        out = (values, indices, x.min(dim=0).indices, x.max(), x.min().item())
    """),
    ("amax_amin", """
        x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        out = (x.amax(dim=1), x.amin(dim=0), torch.amax(x, dim=(0, 1)))
    """),
    ("argmax_argmin", """
        x = torch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
        out = (x.argmax(dim=1), x.argmax(), torch.argmin(x, dim=1))
    """),
    ("var_std", """
        x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 2.0, 2.0]])
        out = (x.var(), x.std(), x.std(dim=1), x.var(dim=0, keepdim=True))
    """),
    ("var_std_unbiased_false", """
        x = torch.tensor([1.0, 2.0, 3.0, 4.0])
        out = (x.var(unbiased=False), x.std(unbiased=False))
    """),
    ("logsumexp", """
        x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
        out = torch.logsumexp(x, dim=1)
    """),
    ("torch_sum_mean_functions", """
        x = torch.arange(6.0).reshape(2, 3)
        out = (torch.sum(x, dim=0), torch.mean(x), torch.sum(x))
    """),
    ("accuracy_idiom", """
        logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5], [0.2, 0.1]])
        labels = torch.tensor([0, 1, 1, 0])
        out = (logits.argmax(dim=1) == labels).float().mean().item()
    """),

    # ------------------------------------------------------------ shape ops
    ("view_reshape", """
        x = torch.arange(12)
        out = (x.view(3, -1), x.reshape(2, 2, 3), x.view(3, 4).t().contiguous().view(-1))
    """),
    ("transpose_dims", """
        x = torch.arange(24).reshape(2, 3, 4)
        out = x.transpose(1, 2)
    """),
    ("permute", """
        x = torch.arange(24).reshape(2, 3, 4)
        out = x.permute(2, 0, 1)
    """),
    ("flatten_all", """
        x = torch.arange(24).reshape(2, 3, 4)
        out = x.flatten()
    """),
    ("flatten_start_dim", """
        x = torch.arange(24).reshape(2, 3, 4)
        out = (x.flatten(1).shape, torch.flatten(x, start_dim=1))
    """),
    ("unsqueeze_squeeze", """
        x = torch.tensor([1.0, 2.0, 3.0])
        y = x.unsqueeze(0)
        z = torch.zeros(1, 3, 1, 2)
        out = (y.shape, x.unsqueeze(-1).shape, y.squeeze(0), z.squeeze().shape, z.squeeze(2).shape)
    """),
    ("chunk", """
        x = torch.arange(8.0).reshape(2, 4)
        a, b = torch.chunk(x, 2, dim=1)
        out = (x.flatten().chunk(4), a, b)
    """),
    ("split", """
        x = torch.arange(10.0).reshape(2, 5)
        a, b = torch.split(x, [2, 3], dim=1)
        out = ([t.shape for t in torch.arange(10).split(4)], a, b)
    """),
    ("expand", """
        x = torch.tensor([[1.0], [2.0]])
        out = (x.expand(2, 3), x.expand(-1, 4).shape, x.expand_as(torch.zeros(2, 5)).shape)
    """),
    ("repeat", """
        x = torch.tensor([1, 2])
        out = (x.repeat(2, 2), x.repeat(3))
    """),
    ("cat", """
        a = torch.zeros(2, 2)
        b = torch.ones(2, 3)
        out = (torch.cat([a, b], dim=1), torch.cat((a, a)))
    """),
    ("stack_dim", """
        a = torch.tensor([1.0, 2.0, 3.0])
        b = torch.tensor([4.0, 5.0, 6.0])
        out = (torch.stack([a, b]), torch.stack([a, b], dim=1))
    """),

    # ------------------------------------------------------------ indexing
    ("index_basic", """
        x = torch.arange(12.0).reshape(3, 4)
        out = (x[1], x[:, 0], x[0, -1].item(), x[..., 1:3], x[::2], x[:, None].shape)
    """),
    ("index_mask_and_tensor", """
        x = torch.tensor([[1.0, 5.0], [3.0, 2.0], [0.0, 7.0]])
        out = (x[x > 2], x[[0, 2]], x[torch.tensor([2, 0])])
    """),
    ("setitem", """
        x = torch.zeros(2, 3)
        x[0] = 1.0
        x[:, 2] = torch.tensor([5.0, 6.0])
        out = x
    """),
    ("masked_fill", """
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        mask = x > 2.5
        out = x.masked_fill(mask, 0.0)
    """),

    # ------------------------------------------------------------ elementwise
    ("clamp", """
        x = torch.tensor([-2.0, -0.5, 0.5, 2.0])
        out = (x.clamp(-1, 1), x.clamp(min=0), x.clamp(max=0.5), torch.clamp(x, min=-1.0))
    """),
    ("abs_exp_log_sqrt_pow", """
        x = torch.tensor([-4.0, 1.0, 9.0])
        out = (x.abs(), x.abs().sqrt(), x.pow(2), x ** 3, x.exp(), x.abs().log(), torch.exp(x), torch.log(x.abs()))
    """),
    ("activation_methods", """
        x = torch.tensor([-1.0, 0.0, 2.0])
        out = (x.sigmoid(), x.tanh(), x.relu(), torch.relu(x), torch.sigmoid(x), torch.tanh(x))
    """),
    ("softmax_method", """
        x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
        out = (x.softmax(dim=-1), torch.softmax(x, dim=0))
    """),
    ("broadcast_arithmetic", """
        a = torch.tensor([[1.0], [2.0], [3.0]])
        b = torch.tensor([10.0, 20.0])
        out = (a + b, a * b, 1 - a, b / 2, 2 ** a)
    """),
    ("inplace_ops", """
        x = torch.tensor([1.0, 2.0, 3.0])
        x.add_(1)
        x.mul_(2)
        out = x
    """),

    # ------------------------------------------------------------ size, item
    ("size_methods", """
        x = torch.zeros(2, 3, 4)
        out = (x.size(), x.size(0), x.size(-1), x.shape[1])
    """),
    ("numel_dim_ndim", """
        x = torch.zeros(2, 3, 4)
        out = (x.numel(), x.dim(), x.ndim, len(x))
    """),
    ("item_tolist", """
        x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        out = (x.sum().item(), x.tolist(), x[0].tolist())
    """),

    # ------------------------------------------------------------ comparison
    ("comparisons_any_all", """
        x = torch.tensor([1.0, 2.0, 3.0, 4.0])
        out = (x > 2, x == 3, x <= 2, x != 1, (x > 3).any().item(), (x > 0).all().item())
    """),
    ("where", """
        x = torch.tensor([-1.0, 2.0, -3.0, 4.0])
        out = (torch.where(x > 0, x, torch.zeros_like(x)), torch.where(x > 0, x, 0.0))
    """),
    ("maximum_minimum", """
        a = torch.tensor([1.0, 5.0, 3.0])
        b = torch.tensor([4.0, 2.0, 3.0])
        out = (torch.maximum(a, b), torch.minimum(a, b), torch.max(a, b))
    """),

    # ------------------------------------------------------------ dtypes
    ("float_double_to", """
        x = torch.arange(3)
        out = (x.float(), x.double().dtype == torch.float64, x.to(torch.float64).dtype == torch.float64,
               x.to(dtype=torch.float32))
    """),
    ("long", """
        x = torch.tensor([1.7, -2.2, 3.0])
        out = x.long()
    """),

    # ------------------------------------------------------------ clone, matmul
    ("clone_independent", """
        x = torch.tensor([1.0, 2.0, 3.0])
        y = x.clone()
        y[0] = 10.0
        out = (x, y)
    """),
    ("matmul_operator", """
        a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        b = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
        v = torch.tensor([1.0, -1.0])
        out = (a @ b, torch.matmul(a, b), a @ v)
    """),
    ("matmul_batched", """
        a = torch.arange(12.0).reshape(2, 2, 3)
        b = torch.arange(6.0).reshape(3, 2)
        out = (torch.matmul(a, b), torch.bmm(a, a.transpose(1, 2)))
    """),
    ("transpose_T_mT", """
        x = torch.arange(6.0).reshape(2, 3)
        y = torch.arange(12.0).reshape(2, 2, 3)
        out = (x.T, x.t(), y.mT.shape)
    """),

    # ------------------------------------------------------------ autograd
    ("backward_grad", """
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = (x ** 2).sum()
        y.backward()
        out = x.grad
    """),
    ("grad_accumulates_and_zero", """
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        (3 * x).sum().backward()
        (x * x).sum().backward()
        accumulated = x.grad.clone()
        x.grad.zero_()
        out = (accumulated, x.grad)
    """),
    ("backward_through_matmul", """
        x = torch.tensor([[1.0, 2.0]])
        w = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], requires_grad=True)
        loss = torch.tanh(x @ w).mean()
        loss.backward()
        out = w.grad
    """),
    ("autograd_grad_second_order", """
        x = torch.tensor(2.0, requires_grad=True)
        y = x ** 3
        (g,) = torch.autograd.grad(y, x, create_graph=True)
        (g2,) = torch.autograd.grad(g, x)
        out = (g.item(), g2.item())
    """),
    ("no_grad", """
        x = torch.tensor([1.0], requires_grad=True)
        with torch.no_grad():
            y = x * 2
        out = (y.requires_grad, (x * 2).requires_grad)
    """),
    ("requires_grad_method", """
        x = torch.ones(3).requires_grad_()
        y = x * torch.tensor([1.0, 2.0, 3.0])
        y.backward(torch.ones_like(y))
        out = (x.requires_grad, x.grad)
    """),
    ("detach_and_leaf", """
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        z = y.detach()
        out = (z.requires_grad, x.is_leaf, y.is_leaf, y.grad_fn is not None)
    """),

    # ------------------------------------------------------------ functional
    ("F_relu_leaky_relu", """
        x = torch.tensor([-2.0, 0.0, 3.0])
        out = (F.relu(x), F.leaky_relu(x, negative_slope=0.2), F.leaky_relu(x, 0.1))
    """),
    ("F_softmax_dim", """
        x = torch.tensor([[1.0, 2.0, 3.0], [2.0, 2.0, 0.0]])
        out = F.softmax(x, dim=1)
    """),
    ("F_log_softmax_dim", """
        x = torch.tensor([[1.0, 2.0, 3.0], [2.0, 2.0, 0.0]])
        out = (F.log_softmax(x, dim=1), F.log_softmax(x, dim=0))
    """),
    ("F_softplus_sigmoid_tanh", """
        x = torch.tensor([-1.0, 0.0, 2.0])
        out = (F.softplus(x), F.sigmoid(x), F.tanh(x))
    """),
    ("F_mse_l1_loss", """
        a = torch.tensor([1.0, 2.0, 3.0])
        b = torch.tensor([1.5, 2.0, 2.0])
        out = (F.mse_loss(a, b), F.mse_loss(a, b, reduction="sum"), F.mse_loss(a, b, reduction="none"),
               F.l1_loss(a, b), F.l1_loss(a, b, reduction="sum"))
    """),
    ("F_bce_losses", """
        p = torch.tensor([0.9, 0.2, 0.6])
        logits = torch.tensor([2.0, -1.0, 0.5])
        y = torch.tensor([1.0, 0.0, 1.0])
        out = (F.binary_cross_entropy(p, y), F.binary_cross_entropy(p, y, reduction="none"),
               F.binary_cross_entropy_with_logits(logits, y), F.binary_cross_entropy_with_logits(logits, y, reduction="sum"))
    """),
    ("F_cross_entropy_nll", """
        logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
        target = torch.tensor([0, 2])
        out = (F.cross_entropy(logits, target), F.cross_entropy(logits, target, reduction="none"),
               F.nll_loss(F.log_softmax(logits, dim=1), target))
    """),
    ("F_interpolate_nearest", """
        x = torch.arange(4.0).reshape(1, 1, 2, 2)
        out = F.interpolate(x, scale_factor=2, mode="nearest")
    """),
    ("F_pad", """
        x = torch.ones(1, 1, 2, 2)
        out = (F.pad(x, (1, 1)).shape, F.pad(x, (1, 0, 2, 1)), F.pad(torch.tensor([[1.0, 2.0]]), (2, 1), value=-1.0))
    """),
    ("F_normalize", """
        x = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
        out = (F.normalize(x, dim=1), F.normalize(x, p=2, dim=0))
    """),
    ("F_one_hot", """
        labels = torch.tensor([0, 2, 1])
        out = (F.one_hot(labels, num_classes=3), F.one_hot(labels).float())
    """),
    ("F_pooling", """
        x = torch.arange(32.0).reshape(1, 2, 4, 4)
        out = (F.avg_pool2d(x, 2), F.max_pool2d(x, kernel_size=2), F.max_pool2d(x, 2, stride=1).shape,
               F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, (1, 1)).flatten(1))
    """),
    ("F_conv2d", """
        x = torch.arange(32.0).reshape(1, 2, 4, 4)
        w = torch.arange(16.0).reshape(2, 2, 2, 2) / 10
        b = torch.tensor([1.0, -1.0])
        out = (F.conv2d(x[:, :1], torch.ones(1, 1, 3, 3), padding=1), F.conv2d(x, w, b, stride=2))
    """),
    ("F_conv_transpose2d", """
        x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
        w = torch.tensor([[[[1.0, 0.5], [0.25, 0.0]]]])
        out = F.conv_transpose2d(x, w, stride=2)
    """),
    ("F_linear", """
        x = torch.tensor([[1.0, 2.0, 3.0]])
        w = torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
        b = torch.tensor([0.1, 0.2])
        out = (F.linear(x, w, b), F.linear(x, w))
    """),
    ("F_dropout_eval", """
        x = torch.tensor([1.0, 2.0, 3.0])
        out = F.dropout(x, p=0.5, training=False)
    """),

    # ------------------------------------------------------------ nn modules
    ("nn_linear_forward", """
        lin = nn.Linear(3, 2)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]))
            lin.bias.fill_(0.1)
        out = (lin.weight.shape, lin.bias.shape, lin(torch.tensor([[1.0, 2.0, 3.0]])))
    """),
    ("nn_linear_default_init", """
        lin = nn.Linear(100, 50)
        bound = 1 / 100 ** 0.5
        w = lin.weight.abs().max().item()
        out = (w <= bound, w > 0.9 * bound, lin.bias.abs().max().item() <= bound)
    """),
    ("nn_conv2d_default_init", """
        conv = nn.Conv2d(3, 8, kernel_size=3, stride=2, padding=1)
        bound = 1 / (3 * 3 * 3) ** 0.5
        w = conv.weight.abs().max().item()
        out = (conv.weight.shape, conv.bias.shape, w <= bound, w > 0.9 * bound, conv(torch.zeros(2, 3, 8, 8)).shape)
    """),
    ("nn_sequential", """
        model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
        out = (len(model), model[0].weight.shape, [type(m).__name__ for m in model], model(torch.zeros(4, 2)).shape)
    """),
    ("nn_modulelist", """
        layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        x = torch.zeros(2, 4)
        for layer in layers:
            x = layer(x)
        out = (len(layers), x.shape, sum(p.numel() for p in layers.parameters()))
    """),
    ("nn_identity", """
        x = torch.tensor([1.0, -2.0])
        out = nn.Identity()(x)
    """),
    ("nn_activation_modules", """
        x = torch.tensor([-1.0, 0.0, 2.0])
        out = (nn.ReLU()(x), nn.LeakyReLU(0.2)(x), nn.Sigmoid()(x), nn.Tanh()(x), nn.Softplus()(x))
    """),
    ("nn_flatten_unflatten", """
        out = (nn.Flatten()(torch.zeros(2, 3, 4, 5)).shape, nn.Unflatten(1, (2, 3))(torch.zeros(4, 6)).shape)
    """),
    ("nn_batchnorm_state_dict", """
        bn = nn.BatchNorm2d(2)
        x = torch.arange(16.0).reshape(2, 2, 2, 2)
        bn(x)
        bn(x)
        out = (list(bn.state_dict().keys()), bn.num_batches_tracked.item(), bn.running_mean, bn.running_var)
    """),
    ("nn_batchnorm_train_eval", """
        bn = nn.BatchNorm1d(2)
        x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
        y_train = bn(x)
        bn.eval()
        out = (y_train, bn.training, bn(x))
    """),
    ("nn_dropout_train_eval", """
        d = nn.Dropout(p=0.5)
        x = torch.ones(10000)
        y = d(x)
        d.eval()
        out = (bool(((y == 0) | (y == 2)).all()), round((y == 0).float().mean().item(), 1), d.training, d(x[:3]))
    """),
    ("nn_layernorm", """
        ln = nn.LayerNorm(4)
        x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]])
        out = (ln(x), ln.weight.shape)
    """),
    ("nn_embedding", """
        emb = nn.Embedding(10, 3)
        with torch.no_grad():
            emb.weight.copy_(torch.arange(30.0).reshape(10, 3))
        out = emb(torch.tensor([[1, 2], [9, 0]]))
    """),
    ("nn_upsample", """
        x = torch.arange(4.0).reshape(1, 1, 2, 2)
        out = nn.Upsample(scale_factor=2, mode="nearest")(x)
    """),
    ("nn_loss_modules", """
        logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
        target = torch.tensor([0, 2])
        y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
        out = (nn.MSELoss()(logits, y), nn.BCEWithLogitsLoss()(logits, y), nn.CrossEntropyLoss()(logits, target))
    """),
    ("nn_parameters", """
        model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
        out = (sum(p.numel() for p in model.parameters() if p.requires_grad), next(model.parameters()).shape,
               len(list(model.parameters())), [name for name, p in model.named_parameters()])
    """),
    ("nn_custom_module", """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 2)
            def forward(self, x):
                return self.fc2(F.relu(self.fc1(x)))
        net = Net()
        out = (net(torch.zeros(3, 4)).shape, [n for n, _ in net.named_parameters()])
    """),
    ("nn_state_dict_roundtrip", """
        a = nn.Linear(3, 2)
        b = nn.Linear(3, 2)
        b.load_state_dict(a.state_dict())
        out = (list(a.state_dict().keys()), bool((a.weight == b.weight).all()))
    """),
    ("nn_zero_grad", """
        model = nn.Linear(2, 1)
        model(torch.ones(1, 2)).sum().backward()
        had_grad = model.weight.grad is not None
        model.zero_grad()
        out = (had_grad, model.weight.grad is None)
    """),
    ("nn_requires_grad_false", """
        model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
        model[0].requires_grad_(False)
        out = [p.requires_grad for p in model.parameters()]
    """),
    ("nn_apply_init", """
        def init_weights(m):
            if isinstance(m, nn.Linear):
                nn.init.constant_(m.weight, 0.5)
                nn.init.zeros_(m.bias)
        model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
        model.apply(init_weights)
        out = model(torch.tensor([[1.0, 2.0]]))
    """),
    ("nn_init_kaiming_normal", """
        w = torch.empty(256, 512)
        nn.init.kaiming_normal_(w)
        conv = nn.Conv2d(16, 64, 3)
        nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
        out = (round(w.std().item(), 2), round(conv.weight.std().item(), 2))
    """),
    ("nn_init_xavier_uniform", """
        w = torch.empty(300, 200)
        nn.init.xavier_uniform_(w)
        bound = (6 / (300 + 200)) ** 0.5
        out = (w.abs().max().item() <= bound, w.abs().max().item() > 0.95 * bound)
    """),
    ("nn_init_normal", """
        lin = nn.Linear(200, 100)
        nn.init.normal_(lin.weight, 0.0, 0.02)
        out = (round(lin.weight.std().item(), 3), round(lin.weight.mean().item(), 2))
    """),

    # ------------------------------------------------------------ optim
    ("optim_sgd_step", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        opt.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        opt.step()
        out = w.detach()
    """),
    ("optim_sgd_momentum", """
        w = torch.tensor([1.0, -2.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            (w ** 2).sum().backward()
            opt.step()
        out = w.detach()
    """),
    ("optim_adam_step", """
        w = torch.tensor([1.0, -2.0], requires_grad=True)
        opt = optim.Adam([w], lr=0.1)
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
        out = w.detach()
    """),
    ("optim_adam_betas", """
        w = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
        opt = optim.Adam([w], lr=0.01, betas=(0.5, 0.9))
        for _ in range(3):
            opt.zero_grad()
            ((w - 1) ** 2).sum().backward()
            opt.step()
        out = w.detach()
    """),
    ("optim_param_groups_read", """
        model = nn.Linear(2, 1)
        opt = optim.Adam(model.parameters(), lr=1e-3)
        out = (opt.param_groups[0]["lr"], len(opt.param_groups), len(opt.param_groups[0]["params"]))
    """),
    ("optim_param_groups_write", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        for group in opt.param_groups:
            group["lr"] = 0.5
        (w ** 2).sum().backward()
        opt.step()
        out = (w.detach(), opt.param_groups[0]["lr"])
    """),
    ("optim_two_param_groups", """
        a = torch.tensor([1.0], requires_grad=True)
        b = torch.tensor([1.0], requires_grad=True)
        opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
        (a * 2 + b * 2).sum().backward()
        opt.step()
        out = (a.detach(), b.detach(), [g["lr"] for g in opt.param_groups])
    """),
    ("optim_zero_grad", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        (w ** 2).sum().backward()
        opt.zero_grad()
        out = w.grad is None
    """),
    ("optim_cosine_annealing", """
        w = torch.tensor([1.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        for _ in range(3):
            opt.step()
            sched.step()
        out = (sched.get_last_lr(), opt.param_groups[0]["lr"])
    """),
    ("optim_state_dict", """
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        opt = optim.Adam([w], lr=0.1)
        (w ** 2).sum().backward()
        opt.step()
        sd = opt.state_dict()
        out = (list(sd.keys()), sd["param_groups"][0]["lr"], sorted(sd["state"][0].keys()))
    """),
    ("optim_training_loop", """
        model = nn.Linear(1, 1)
        with torch.no_grad():
            model.weight.fill_(0.0)
            model.bias.fill_(0.0)
        x = torch.tensor([[1.0], [2.0], [3.0]])
        y = 2 * x + 1
        opt = optim.SGD(model.parameters(), lr=0.05)
        for _ in range(5):
            opt.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            opt.step()
        out = (loss.item(), model.weight.item(), model.bias.item())
    """),
]

SNIPPETS = [(name, textwrap.dedent(code).strip() + "\n") for name, code in _RAW]


def to_json(out, as_array):
    """``out`` as plain JSON data, the same for either engine.

    ``as_array(obj)`` returns the engine's tensor as a NumPy array, or None for
    anything that is not a tensor. A tensor becomes ``{"shape", "dtype",
    "values"}`` (dtype as NumPy names it, values as nested lists); a shape,
    tuple, list or named tuple (``values, indices``) a list; a dict a dict;
    numbers, bools, strings and None themselves.
    """
    from collections.abc import KeysView, ValuesView

    import numpy as np

    if out is None or isinstance(out, (bool, str)):
        return out
    if isinstance(out, np.bool_):
        return bool(out)
    if isinstance(out, (int, float, np.integer, np.floating)):
        return out.item() if isinstance(out, np.generic) else out
    array = out if isinstance(out, np.ndarray) else as_array(out)
    if array is not None:
        array = np.asarray(array)
        return {"shape": list(array.shape), "dtype": array.dtype.name, "values": array.tolist()}
    if isinstance(out, dict):
        return {str(k): to_json(v, as_array) for k, v in out.items()}
    if isinstance(out, (tuple, list, KeysView, ValuesView)):
        return [to_json(v, as_array) for v in out]
    raise TypeError(f"out: cannot convert a {type(out).__module__}.{type(out).__qualname__} to JSON")
