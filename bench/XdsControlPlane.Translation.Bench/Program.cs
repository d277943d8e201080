using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(XdsControlPlane.Translation.Bench.TranslationBenchmarks).Assembly).Run(args);
