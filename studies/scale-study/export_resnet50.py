"""Export a ResNet-50 with random (seeded) weights to ONNX for the scale study.

Random weights: the trace shows ResNet-50's topology and delta-state size, not the sparsity
a trained network would have. Run with Debian's python (torch + torchvision + onnx):
    /usr/bin/python3 studies/scale-study/export_resnet50.py OUT.onnx
"""

import sys

import torch
import torchvision

out = sys.argv[1] if len(sys.argv) > 1 else "resnet50-random.onnx"
torch.manual_seed(0)
model = torchvision.models.resnet50(weights=None).eval()
dummy = torch.zeros(1, 3, 224, 224)
torch.onnx.export(model, dummy, out, input_names=["input"], output_names=["logits"], opset_version=13)
print(out)
