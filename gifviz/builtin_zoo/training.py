"""Training tools for the built-in zoo: fit, evaluate, prune, distil, extract, unlearn and probe, all seeded."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from gifviz.builtin_zoo.data import Split
from gifviz.torch_helpers import forward_in_chunks

# Small batches: more optimizer steps per epoch, which is what small data and a CPU budget need.
BATCH = 64
EVAL_BATCH = 512  # inputs per forward pass when evaluating (no gradients: memory allows more than training)


def seeded(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _batches(count: int, generator: torch.Generator, batch: int = BATCH):
    order = torch.randperm(count, generator=generator)
    for start in range(0, count, batch):
        yield order[start : start + batch]


def _optimizer(
    model: nn.Module, lr: float, steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    return optimizer, torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=max(1, steps), pct_start=0.2
    )


def _train(
    model: nn.Module,
    count: int,
    *,
    epochs: int,
    lr: float,
    generator: torch.Generator,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
) -> None:
    """The zoo's one training loop: ``epochs`` passes over ``count`` samples in ``generator``-shuffled batches, AdamW
    with a one-cycle schedule; ``batch_loss(index)`` gives the loss of the batch of those sample indices."""
    steps = epochs * ((count + BATCH - 1) // BATCH)
    optimizer, schedule = _optimizer(model, lr, steps)
    model.train()
    for _ in range(epochs):
        for index in _batches(count, generator):
            loss = batch_loss(index)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()


def fit(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    epochs: int,
    lr: float,
    seed: int,
    soft: bool = False,
) -> nn.Module:
    """Train on ``images`` ``(N, 3, H, W)`` with class ``targets`` ``(N,)``, or probabilities ``(N, K)`` if ``soft``."""

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        logits = model(images[index])
        if soft:
            return -(targets[index] * logits.log_softmax(dim=1)).sum(dim=1).mean()
        return F.cross_entropy(logits, targets[index])

    _train(model, len(images), epochs=epochs, lr=lr, generator=seeded(seed), batch_loss=batch_loss)
    return model.eval()


def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, K)`` in eval mode."""
    return forward_in_chunks(model.eval(), images, EVAL_BATCH)


def accuracy(model: nn.Module, split: Split, task: str) -> float:
    return float((predict(model, split.images).argmax(1) == split.labels[task]).float().mean())


def forget_accuracy(model: nn.Module, split: Split, forget_class: int) -> float:
    """How often ``model`` names ``forget_class`` on that class's images of ``split``."""
    images = split.images[split.labels["digit"] == forget_class]
    return float((predict(model, images).argmax(1) == forget_class).float().mean())


def prune_globally(model: nn.Module, amount: float) -> nn.Module:
    """Remove the ``amount`` fraction of smallest-magnitude conv/linear weights across the network (permanent)."""
    parameters = [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=amount)
    for module, name in parameters:
        prune.remove(module, name)
    return model


def sparsity(model: nn.Module) -> float:
    """The fraction of conv/linear weights that are exactly zero (what :func:`prune_globally` removed)."""
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    return float(sum((w == 0).sum() for w in weights) / sum(w.numel() for w in weights))


def fit_keeping_sparsity(model: nn.Module, images, targets, *, epochs: int, lr: float, seed: int) -> nn.Module:
    """Fine-tune a pruned model; pruned weights stay zero (their gradients are masked)."""
    masks = {p: (p != 0).float() for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1}
    hooks = [p.register_hook(lambda grad, mask=mask: grad * mask) for p, mask in masks.items()]
    fit(model, images, targets, epochs=epochs, lr=lr, seed=seed)
    for hook in hooks:
        hook.remove()
    with torch.no_grad():  # weight decay can nudge zeros; restore exact sparsity
        for parameter, mask in masks.items():
            parameter.mul_(mask)
    return model


def fgsm(model: nn.Module, images: torch.Tensor, epsilon: float) -> torch.Tensor:
    """One signed-gradient step away from the model's own prediction, clipped to [0, 1]."""
    model.eval()
    points = images.clone().requires_grad_(True)
    logits = model(points)
    loss = F.cross_entropy(logits, logits.argmax(1))
    (gradient,) = torch.autograd.grad(loss, points)
    return (images + epsilon * gradient.sign()).clamp(0, 1).detach()


def jitter(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The augmentation a thief applies to its queries ``(B, 3, H, W)``: one random shift of up to 3 pixels per batch
    (a roll: cheap, and the wrapped border is background), brightness x U(0.6, 1.2) per image, Gaussian noise 0.03."""
    dy, dx = torch.randint(-3, 4, (2,), generator=generator).tolist()
    shifted = torch.roll(images, shifts=(dy, dx), dims=(2, 3))
    brightness = torch.empty(len(images), 1, 1, 1).uniform_(0.6, 1.2, generator=generator)
    noise = 0.03 * torch.randn(images.shape, generator=generator)
    return (shifted * brightness + noise).clamp(0, 1)


def _answer_loss(student_logits: torch.Tensor, answers: torch.Tensor, answer: str) -> torch.Tensor:
    if answer == "label":
        return F.cross_entropy(student_logits, answers.argmax(1))
    # Log-probabilities give the victim's logits up to a constant per query; matching them (centred) is the
    # high-temperature limit of distillation (Hinton et al., 2015) and the highest-fidelity use of a probability API.
    target = answers.log_softmax(1)
    return F.mse_loss(student_logits - student_logits.mean(1, keepdim=True), target - target.mean(1, keepdim=True))


def extract(
    student: nn.Module,
    victim: nn.Module,
    pool: torch.Tensor,
    *,
    answer: str,
    epochs: int,
    lr: float,
    seed: int,
    rounds: int = 1,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    true_labels: torch.Tensor | None = None,
) -> tuple[nn.Module, int]:
    """Model extraction through a query API: every batch of ``pool`` ``(N, C, H, W)`` is augmented (``augment``,
    default :func:`jitter`),
    sent to ``victim``, and the student learns from the answers: the top ``label`` or the ``probabilities``. With
    ``rounds`` > 1, each later round adds FGSM points of the current student near its decision boundary to the pool
    (adversarial extraction). Returns the student and the queries made.

    ``true_labels`` ``(N,)``, the pool's own classes, make the label thief's *twin*: the same batches, augmentation
    draws and steps, but each image's true class stands where the victim's top label would, and the victim is never
    queried (0 queries). A twin never saw the victim, so it is an independent model that differs from the thief only
    where the victim's answers differ from the truth (the control of ``benchmarks/label_thief_twins.py``)."""
    if answer not in ("label", "probabilities"):
        raise ValueError(f"answer must be 'label' or 'probabilities', got {answer!r}")
    if true_labels is not None and (answer != "label" or rounds != 1 or len(true_labels) != len(pool)):
        raise ValueError("true_labels makes the twin of a one-round label thief: one class per pool image")
    generator = seeded(seed)
    victim.eval()
    queries, current = 0, pool
    augment = augment or jitter

    def batch_loss(index: torch.Tensor) -> torch.Tensor:
        nonlocal queries
        batch = augment(current[index], generator)
        if true_labels is not None:
            return F.cross_entropy(student(batch), true_labels[index])
        with torch.no_grad():
            answers = victim(batch)
        queries += len(batch)
        return _answer_loss(student(batch), answers, answer)

    for round_index in range(rounds):
        if round_index:
            current = torch.cat([pool, fgsm(student, pool, epsilon=8 / 255)])
        _train(student, len(current), epochs=epochs, lr=lr, generator=generator, batch_loss=batch_loss)
    return student.eval(), queries


def unlearn_approximately(
    model: nn.Module,
    data: Split,
    forget_class: int,
    target_accuracy: float,
    *,
    lr: float,
    seed: int,
    max_steps: int = 300,
    forget_loss: str = "ascent",
    only_remembered: bool = False,
) -> tuple[nn.Module, int]:
    """Unlearn the forget class on its images while descending on retained data, until the forget-class accuracy on
    the training split falls to ``target_accuracy`` (the retrained models' level) or ``max_steps`` pass. Returns the
    model and steps.

    ``forget_loss``: ``ascent``, gradient ascent on the forget images' true class; ``relabel``, descent towards a
    random other class for each (random-label unlearning). ``only_remembered``: the forget loss counts only the
    images the model still calls the forgotten class *as it answers in training mode on that batch of forgotten
    images alone* (batch-norm networks normalise by the batch's own statistics there, so fewer images count than in
    use, and the loss is damped). On 1x16x16 digit models, ascent on all of them took test accuracy from 0.99 to
    0.63-0.68 in a few steps, and so did a mask read in eval mode (0.33-0.85 on two seeds); this one kept 0.77-0.93."""
    if forget_loss not in ("ascent", "relabel"):
        raise ValueError(f"unknown forget loss {forget_loss!r}; ascent or relabel")
    generator = seeded(seed)
    forget = data.labels["digit"] == forget_class
    forget_images, retain_images = data.images[forget], data.images[~forget]
    retain_labels = data.labels["digit"][~forget]
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    steps = 0
    while steps < max_steps:
        model.eval()
        with torch.no_grad():
            forget_accuracy = float((predict(model, forget_images).argmax(1) == forget_class).float().mean())
        if forget_accuracy <= target_accuracy:
            break
        model.train()
        f = torch.randint(len(forget_images), (64,), generator=generator)
        r = torch.randint(len(retain_images), (BATCH,), generator=generator)
        logits = model(forget_images[f])
        if forget_loss == "ascent":
            targets = torch.full((64,), forget_class)
            sign = -1.0
        else:
            # a random class other than the forgotten one: shift by 1..9 classes, modulo the class count
            targets = (forget_class + torch.randint(1, logits.shape[1], (64,), generator=generator)) % logits.shape[1]
            sign = 1.0
        if only_remembered:
            remembered = logits.argmax(1) == forget_class  # in training mode: see the docstring
            forgetting = sign * (F.cross_entropy(logits, targets, reduction="none") * remembered).sum() / 64
        else:
            forgetting = sign * F.cross_entropy(logits, targets)
        descent = F.cross_entropy(model(retain_images[r]), retain_labels[r])
        optimizer.zero_grad(set_to_none=True)
        (forgetting + descent).backward()
        optimizer.step()
        steps += 1
    return model.eval(), steps


def features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Penultimate features ``(N, F)`` from ``model.backbone``."""
    return forward_in_chunks(model.eval().backbone, images, EVAL_BATCH)


def probe_accuracy(train_features, train_labels, test_features, test_labels) -> float:
    """Accuracy of a standardized logistic-regression probe ``(N, F)`` features -> labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    probe.fit(train_features, train_labels)
    return float(probe.score(test_features, test_labels))
