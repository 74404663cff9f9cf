"""Peer of `npm run bench` (case lenet-train-consistency): the same workload in PyTorch, written the
way the authors' training loop runs it -- a loader batch of 256 images is split into m = 2 chunks of
128, each chunk is noised m times and concatenated (256 noisy samples per optimizer step), the loss is
cross-entropy + lbd * KL(mean || p_i) + eta * H(mean), and SGD with Nesterov momentum steps once per chunk.
Prints one JSON object. Usage: python3 bench/pytorch_lenet.py SECONDS
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
M, SIGMA, LBD, ETA, BATCH = 2, 0.25, 10.0, 0.5, 256


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


def consistency(logits_chunks):
    probs = [F.softmax(z, dim=1) for z in logits_chunks]
    mean = torch.stack(probs).mean(0)
    kl = sum(F.kl_div(F.log_softmax(z, dim=1), mean, reduction='none').sum(1) for z in logits_chunks) / len(logits_chunks)
    entropy = -(mean * mean.clamp_min(1e-20).log()).sum(1)
    return (LBD * kl + ETA * entropy).mean()


torch.manual_seed(0)
model = LeNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
images = torch.rand(BATCH, 1, 28, 28)
labels = torch.randint(0, 10, (BATCH,))


def loader_batch():
    """One loader batch: m optimizer steps of BATCH / m images x m noisy copies."""
    for x, y in zip(images.chunk(M), labels.chunk(M)):
        noisy = torch.cat([x + SIGMA * torch.randn_like(x) for _ in range(M)])
        logits = model(noisy)
        loss = F.cross_entropy(logits, y.repeat(M)) + consistency(logits.chunk(M))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


model.train()
for _ in range(3):
    loader_batch()
steps, began = 0, time.perf_counter()
while time.perf_counter() - began < SECONDS:
    loader_batch()
    steps += M
elapsed = time.perf_counter() - began
print(json.dumps({'noisySamplesPerSec': steps * (BATCH // M) * M / elapsed, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))
