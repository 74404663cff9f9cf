#!/usr/bin/env python3
"""Makes test/fixtures/onnx/fashion-tiny.onnx and its expected outputs, fashion-tiny.json.

A tiny PyTorch CNN for 28x28x1 Fashion-MNIST, exported the way a PyTorch user would:
NCHW input, normalization (x - 0.5) / 0.5 outside the graph, dynamic batch. The JSON
records the first test images (uint8 pixels, base64) with PyTorch's clean logits and
predictions, so smoothcert's ONNX path is checked against PyTorch itself.

Not run in CI. Needs PyTorch (Debian: apt-get install python3-torch) and the Fashion-MNIST
IDX files; run from the repository root:
    /usr/bin/python3 scripts/make-onnx-fixture.py [/usr/share/datasets/fashion-mnist]
"""
import base64
import gzip
import json
import os
import sys

import numpy as np
import torch
from torch import nn

DATA = sys.argv[1] if len(sys.argv) > 1 else '/usr/share/datasets/fashion-mnist'
OUT = 'test/fixtures/onnx'
MEAN, STD = 0.5, 0.5
NUM_RECORDED = 8


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), 'rb') as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def tiny_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3),  # 28 -> 26
        nn.ReLU(),
        nn.MaxPool2d(2),                 # 26 -> 13
        nn.Flatten(),                    # C, H, W order: PyTorch's, not tfjs's
        nn.Linear(4 * 13 * 13, 10),
    )


def normalize(pixels):
    """uint8 [N, 28, 28] -> normalized float32 NCHW [N, 1, 28, 28]."""
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - MEAN) / STD


def main():
    torch.manual_seed(0)
    train_x, train_y = read_idx('train-images-idx3-ubyte.gz'), read_idx('train-labels-idx1-ubyte.gz')
    test_x, test_y = read_idx('t10k-images-idx3-ubyte.gz'), read_idx('t10k-labels-idx1-ubyte.gz')

    model = tiny_cnn()
    # A few hundred SGD steps on 4096 images: enough for non-trivial predictions.
    x, y = normalize(train_x[:4096]), torch.from_numpy(train_y[:4096].astype(np.int64))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for step in range(400):
        idx = torch.randint(0, x.shape[0], (64,))
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()

    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), os.path.join(OUT, 'fashion-tiny.onnx'),
        input_names=['image'], output_names=['logits'],
        dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}},
        opset_version=13,
    )

    with torch.no_grad():
        logits = model(normalize(test_x[:NUM_RECORDED]))
        accuracy = (model(normalize(test_x[:1000])).argmax(1).numpy() == test_y[:1000]).mean()
    record = {
        'made_by': 'scripts/make-onnx-fixture.py',
        'torch_version': torch.__version__,
        'input_layout': 'nchw',
        'mean': [MEAN],
        'std': [STD],
        'input_shape': [28, 28, 1],
        'num_classes': 10,
        'test_accuracy_first_1000': float(accuracy),
        'images': [
            {
                'index': i,
                'label': int(test_y[i]),
                'pixels_base64': base64.b64encode(test_x[i].tobytes()).decode('ascii'),
                'logits': [float(v) for v in logits[i]],
                'prediction': int(logits[i].argmax()),
            }
            for i in range(NUM_RECORDED)
        ],
    }
    with open(os.path.join(OUT, 'fashion-tiny.json'), 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')
    print(f'wrote {OUT}/fashion-tiny.onnx and fashion-tiny.json; accuracy on 1000 test images {accuracy:.3f}')


if __name__ == '__main__':
    main()
