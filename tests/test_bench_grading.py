"""That the grading benchmark runs (its timings are for reading, not for asserting)."""
import bench_grading


def test_the_grading_benchmark_times_both_ways():
    times = bench_grading.main(['--offering', 'vu2021', '--repeats', '1'])
    assert all(len(seconds) == 1 and seconds[0] > 0 for seconds in times.values())
