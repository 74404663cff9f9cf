"""Exports a CIFAR ResNet-20 from PyTorch to ONNX the way a researcher would (torch.onnx.export of
an eval-mode model, dynamic batch), for the plan's agreement check (bench/plan-agreement.ts):
Cohen et al.'s archs/cifar_resnet.py structure, including its `x.view(x.size(0), -1)`, whose
shape arithmetic (Shape, Gather, Unsqueeze, Concat, Reshape) the exporter writes into the graph.
Weights are seeded random with batch-norm statistics far from (0, 1), so no fold can hide.

Usage: python3 scripts/make-onnx-resnet20.py OUT.onnx
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from torch_archs import BasicBlock, ResNet  # noqa: E402  (the bench's reference architectures)


torch.manual_seed(0)
model = ResNet(BasicBlock, [3, 3, 3], [16, 32, 64], 10, False)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.2, 0.2)
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
model.eval()
torch.onnx.export(model, torch.zeros(1, 3, 32, 32), sys.argv[1], input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
print(f"wrote {sys.argv[1]} (torch {torch.__version__})")
