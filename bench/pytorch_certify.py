"""PyTorch peer of `npm run bench`'s certify cases: the forward pass and arg-max counts of CERTIFY on
the same weights and the same noisy batch as smoothcert's engines, written out by
bench/pytorch-certify.ts. The networks are the reference architectures (Cohen et al.'s LeNet here,
the ResNets in bench/torch_archs.py) with module paths equal to smoothcert's layer names, so the
weights load by name (strict). Normalization is the first step, as in the authors' NormalizeLayer.

fp32, or bf16 autocast; both channels_last under torch.inference_mode(), PyTorch's fastest CPU
inference setup. The noise is precomputed (smoothcert's Philox stream), so PyTorch's rate leaves
out the noise that smoothcert's includes.

Prints one JSON object. Usage: python3 bench/pytorch_certify.py ARCH DIR BATCH SECONDS fp32|bf16
"""
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch_archs import BasicBlock, Bottleneck, ResNet

torch.set_num_threads(2)
ARCH, DIR, BATCH, SECONDS, PRECISION = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]


class LeNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        # smoothcert flattens NHWC (models/lenet.ts): the same order here, so fc1's weights need no permutation
        return self.fc2(F.relu(self.fc1(x.permute(0, 2, 3, 1).flatten(1))))


index = json.load(open(os.path.join(DIR, "weights.json")))
classes = index["classes"]
if ARCH == "lenet":
    model = LeNet(classes)
elif ARCH.startswith("cifar_resnet"):
    n = (int(ARCH[len("cifar_resnet"):]) - 2) // 6
    model = ResNet(BasicBlock, [n] * 3, [16, 32, 64], classes, False)
elif ARCH == "resnet50":
    model = ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], classes, True)
else:
    raise SystemExit(f"no PyTorch peer for {ARCH}")
blob = np.fromfile(os.path.join(DIR, "weights.bin"), dtype=np.float32)
state = {t["name"]: torch.from_numpy(blob[t["offset"]:t["offset"] + int(np.prod(t["shape"]))].reshape(t["shape"]).copy()) for t in index["tensors"]}
for name, buf in model.state_dict().items():
    if name.endswith("num_batches_tracked"):
        state[name] = buf
model.load_state_dict(state, strict=True)
model.eval()

h, w, c = index["shape"]
mean = torch.tensor(index["mean"]).view(1, c, 1, 1)
std = torch.tensor(index["std"]).view(1, c, 1, 1)
noisy = torch.from_numpy(np.fromfile(os.path.join(DIR, "noisy.bin"), dtype=np.float32).reshape(BATCH, h, w, c)).permute(0, 3, 1, 2)
x = ((noisy - mean) / std).contiguous(memory_format=torch.channels_last)
model = model.to(memory_format=torch.channels_last)


def counts():
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=PRECISION == "bf16"):
        return torch.bincount(model(x).float().argmax(1), minlength=classes)


first = counts().tolist()  # warm-up: oneDNN primitive creation
start, runs = time.perf_counter(), 0
while runs < 2 or time.perf_counter() - start < SECONDS:
    counts()
    runs += 1
elapsed = time.perf_counter() - start
print(json.dumps({
    "rate": runs * BATCH / elapsed,
    "counts": first,
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
