"""
=============================
Prune images with a small CNN
=============================

Digits as 1x8x8 images, pruned with a convolutional network.

Run with ``python examples/images_cnn.py``. Any ``torch.nn.Module`` that maps a
batch of images to logits can be the pruner's network; a class whose
constructor takes ``n_classes`` gets it from the labels. The kept images are
returned in their original (n, channels, height, width) shape.
"""

import numpy as np
import torch
from sklearn.datasets import load_digits

from sklearn_lpntk import LpNTKPruner


class SmallCNN(torch.nn.Module):
    def __init__(self, n_classes=10):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(16, 32, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.head = torch.nn.Linear(32 * 2 * 2, n_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def main():
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
    pruner = LpNTKPruner(prune_ratio=0.5, net=SmallCNN, max_epochs=5, random_state=0, verbose=1)
    kept_images, kept_labels = pruner.fit_resample(images, y)
    print(f"kept {len(kept_images)} of {len(images)} images, shape {kept_images.shape[1:]}")
    print("kept per class:", pruner.sampling_strategy_)
    print("largest cluster sizes:", np.sort(np.bincount(pruner.cluster_labels_))[::-1][:5].tolist())


if __name__ == "__main__":
    main()
