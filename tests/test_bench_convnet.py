"""The ConvNet benchmark runs and reports what it compared (its timings are never tested: they are noise here)."""
import functools
import re

import bench_convnet
import cifar10_utils


def test_the_benchmark_reports_the_cpu_the_ratio_and_the_profile(capsys, monkeypatch):
    monkeypatch.setattr(cifar10_utils, 'get_synthetic',
                        functools.partial(cifar10_utils.get_synthetic, num_train=64, num_test=8))
    monkeypatch.setattr(bench_convnet, 'BLOCK', 2)  # steps per block: a warm-up, a timed and a profiled one
    bench_convnet.main(['--steps', '2', '--batch_size', '4', '--device', 'cpu', '--profile'])
    out = capsys.readouterr().out
    assert re.search(r'^CPU: .+; AVX-512 BF16: (True|False), AMX: (True|False)', out, re.M)
    ratio = float(re.search(r'ours / reference: ([0-9.]+)x', out).group(1))
    assert ratio > 0
    assert 'where 2 of our steps spend their time (cpu)' in out and 'convolution' in out
