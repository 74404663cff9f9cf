"""The reference architectures the PyTorch scripts share (bench/pytorch_certify.py,
bench/pytorch_train.py, scripts/make-onnx-resnet20.py): Cohen et al.'s CIFAR ResNet (archs/cifar_resnet.py,
with its AvgPool2d and `x.view(x.size(0), -1)`) and torchvision's ResNet-50, with module paths equal to
smoothcert's layer names (layer1.0.conv1, …, fc), so smoothcert's weights load by state-dict name.
"""
import torch.nn as nn
import torch.nn.functional as F


def shortcut(inplanes, planes, stride):
    return nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = shortcut(inplanes, planes, stride) if stride != 1 or inplanes != planes else None

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.downsample = shortcut(inplanes, 4 * planes, stride) if stride != 1 or inplanes != 4 * planes else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """Cohen's CIFAR ResNet (stem 3×3, stages of BasicBlocks) or torchvision's ResNet-50 (stem 7×7 + max pool, Bottlenecks)."""

    def __init__(self, block, stages, widths, classes, imagenet):
        super().__init__()
        stem = 64 if imagenet else 16
        self.imagenet = imagenet
        self.conv1 = nn.Conv2d(3, stem, 7 if imagenet else 3, 2 if imagenet else 1, 3 if imagenet else 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        inplanes = stem
        for s, (blocks, planes) in enumerate(zip(stages, widths)):
            layers = []
            for i in range(blocks):
                layers.append(block(inplanes, planes, 2 if i == 0 and s > 0 else 1))
                inplanes = planes * (4 if block is Bottleneck else 1)
            setattr(self, f"layer{s + 1}", nn.Sequential(*layers))
        self.stages = len(stages)
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.imagenet:
            x = F.max_pool2d(x, 3, 2, 1)
        for s in range(self.stages):
            x = getattr(self, f"layer{s + 1}")(x)
        # The final map is square (8×8 on CIFAR, 7×7 at 224×224): the reference's AvgPool2d and view.
        x = F.avg_pool2d(x, int(x.shape[-1]))
        return self.fc(x.view(x.size(0), -1))
