"""Exports a CIFAR ResNet-20 from PyTorch to ONNX the way a researcher would (torch.onnx.export of
an eval-mode model, dynamic batch), for the plan's agreement check (scripts/plan-agreement.ts):
Cohen et al.'s archs/cifar_resnet.py structure, including its `x.view(x.size(0), -1)`, whose
shape arithmetic (Shape, Gather, Unsqueeze, Concat, Reshape) the exporter writes into the graph.
Weights are seeded random with batch-norm statistics far from (0, 1), so no fold can hide.

Usage: python3 scripts/make-onnx-resnet20.py OUT.onnx
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, inplanes = [], 16
        for stage, planes in enumerate([16, 32, 64]):
            for i in range(3):
                layers.append(BasicBlock(inplanes, planes, 2 if i == 0 and stage > 0 else 1))
                inplanes = planes
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        x = self.avgpool(x)
        return self.fc(x.view(x.size(0), -1))


torch.manual_seed(0)
model = ResNet20()
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
