"""Training tools for the built-in zoo: fit, evaluate, prune, distil, extract, unlearn and probe, all seeded."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

from gifviz.zoo.data import Split

# Small batches: more optimizer steps per epoch, which is what small data and a CPU budget need.
BATCH = 64


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
    generator = seeded(seed)
    steps = epochs * ((len(images) + BATCH - 1) // BATCH)
    optimizer, schedule = _optimizer(model, lr, steps)
    model.train()
    for _ in range(epochs):
        for index in _batches(len(images), generator):
            logits = model(images[index])
            if soft:
                loss = -(targets[index] * logits.log_softmax(dim=1)).sum(dim=1).mean()
            else:
                loss = F.cross_entropy(logits, targets[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Logits ``(N, K)`` in eval mode."""
    model.eval()
    return torch.cat([model(chunk) for chunk in images.split(512)])


def accuracy(model: nn.Module, split: Split, task: str) -> float:
    return float((predict(model, split.images).argmax(1) == split.labels[task]).float().mean())


def prune_globally(model: nn.Module, amount: float) -> nn.Module:
    """Remove the ``amount`` fraction of smallest-magnitude conv/linear weights across the network (permanent)."""
    parameters = [(m, "weight") for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount=amount)
    for module, name in parameters:
        prune.remove(module, name)
    return model


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


def extract_adversarial(
    student: nn.Module, teacher: nn.Module, queries: torch.Tensor, *, rounds: int, epochs: int, lr: float, seed: int
) -> nn.Module:
    """Model extraction with adversarial query augmentation: each round adds FGSM points of the current student near
    the decision boundary, labels every query with the teacher's probabilities, and trains on all of them."""
    pool = queries
    for round_index in range(rounds):
        soft = predict(teacher, pool).softmax(dim=1)
        fit(student, pool, soft, epochs=epochs, lr=lr, seed=seed + round_index, soft=True)
        if round_index < rounds - 1:
            pool = torch.cat([pool, fgsm(student, queries, epsilon=8 / 255)])
    return student


def unlearn_approximately(
    model: nn.Module,
    data: Split,
    forget_class: int,
    target_accuracy: float,
    *,
    lr: float,
    seed: int,
    max_steps: int = 300,
) -> tuple[nn.Module, int]:
    """Gradient ascent on the forget class interleaved with descent on retained data, until the forget-class accuracy
    on the training split falls to ``target_accuracy`` (the retrained models' level). Returns the model and steps."""
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
        ascent = -F.cross_entropy(model(forget_images[f]), torch.full((64,), forget_class))
        descent = F.cross_entropy(model(retain_images[r]), retain_labels[r])
        optimizer.zero_grad(set_to_none=True)
        (ascent + descent).backward()
        optimizer.step()
        steps += 1
    return model.eval(), steps


@torch.no_grad()
def features(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Penultimate features ``(N, F)`` from ``model.backbone``."""
    model.eval()
    return torch.cat([model.backbone(chunk) for chunk in images.split(512)])


def probe_accuracy(train_features, train_labels, test_features, test_labels) -> float:
    """Accuracy of a standardized logistic-regression probe ``(N, F)`` features -> labels."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    probe.fit(train_features, train_labels)
    return float(probe.score(test_features, test_labels))
