"""Peer of `npm run bench` for every training case: consistency training (m noisy copies per image)
of the same architecture, written the way the authors' training loop runs it. Each optimizer step
takes BATCH / m images, noises each m times (BATCH noisy samples), computes cross-entropy +
lbd * KL(mean || p_i) + eta * H(mean) and steps SGD with Nesterov momentum and weight decay.

Architectures as in the reference code (Cohen et al.'s archs/cifar_resnet.py, the consistency
authors' archs/densenet.py) and as smoothcert builds them in src/models/.

Prints one JSON object. Usage: python3 bench/pytorch_train.py ARCH BATCH M SECONDS
ARCH: lenet | cifar_resnet20 | cifar_resnet110 | cifar_densenet40
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_archs import BasicBlock

torch.set_num_threads(2)
ARCH = sys.argv[1]
BATCH = int(sys.argv[2])
M = int(sys.argv[3])
SECONDS = float(sys.argv[4])
SIGMA, LBD, ETA = 0.25, 10.0, 0.5


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class CifarResNet(nn.Module):
    def __init__(self, depth):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, inplanes = [], 16
        for stage, planes in enumerate([16, 32, 64]):
            for i in range(n):
                blocks.append(BasicBlock(inplanes, planes, 2 if i == 0 and stage > 0 else 1))
                inplanes = planes
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class DenseLayer(nn.Module):
    def __init__(self, inplanes, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        h = self.conv1(F.relu(self.norm1(x)))
        h = self.conv2(F.relu(self.norm2(h)))
        return torch.cat([x, h], 1)


class DenseNet40(nn.Module):
    """Growth 12, three blocks of 6 bottleneck layers, compression 1 (a transition is a 2x2 average pool)."""

    def __init__(self, growth=12):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 2 * growth, 3, 1, 1, bias=False)
        channels, stages = 2 * growth, []
        for b in range(3):
            layers = []
            for _ in range(6):
                layers.append(DenseLayer(channels, growth))
                channels += growth
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.norm = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels, 10)

    def forward(self, x):
        x = self.conv0(x)
        for b, stage in enumerate(self.stages):
            x = stage(x)
            if b < 2:
                x = F.avg_pool2d(x, 2)
        x = F.relu(self.norm(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def build(arch):
    if arch == 'lenet':
        return LeNet(), (1, 28, 28)
    if arch == 'cifar_resnet20':
        return CifarResNet(20), (3, 32, 32)
    if arch == 'cifar_resnet110':
        return CifarResNet(110), (3, 32, 32)
    if arch == 'cifar_densenet40':
        return DenseNet40(), (3, 32, 32)
    raise SystemExit(f'unknown architecture {arch}')


def consistency(logits_chunks):
    probs = [F.softmax(z, dim=1) for z in logits_chunks]
    mean = torch.stack(probs).mean(0)
    kl = sum(F.kl_div(F.log_softmax(z, dim=1), mean, reduction='none').sum(1) for z in logits_chunks) / len(logits_chunks)
    entropy = -(mean * mean.clamp_min(1e-20).log()).sum(1)
    return (LBD * kl + ETA * entropy).mean()


torch.manual_seed(0)
model, shape = build(ARCH)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
images = torch.rand(BATCH // M, *shape)
labels = torch.randint(0, 10, (BATCH // M,))


def step():
    noisy = torch.cat([images + SIGMA * torch.randn_like(images) for _ in range(M)])
    logits = model(noisy)
    loss = F.cross_entropy(logits, labels.repeat(M)) + consistency(logits.chunk(M))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


model.train()
for _ in range(2):
    step()
steps, began = 0, time.perf_counter()
while steps < 2 or time.perf_counter() - began < SECONDS:
    step()
    steps += 1
elapsed = time.perf_counter() - began
print(json.dumps({
    'noisySamplesPerSec': steps * BATCH / elapsed,
    'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    'threads': torch.get_num_threads(),
    'torch': torch.__version__,
}))
