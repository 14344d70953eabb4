#!/usr/bin/env bash
# `npm run bench:gpu-kit`: prepares the bench for one run on an NVIDIA machine without Node.js or network
# (docs/compute.md, "Running on an NVIDIA machine without Node.js"; docs/benchmarks.md, "GPU run kit").
#  1. bundles scripts/bench.ts as one CommonJS file, dist/bench.cjs (node_modules does not travel; `webgpu` stays
#     external and resolves from .gpu/node_modules there, through require and NODE_PATH, which ESM imports ignore);
#  2. runs ../shared/tools/gpu-carry.sh dist/bench.cjs, which fills .gpu/ (node, the Vulkan loader packages, Dawn,
#     and the bundle as .gpu/bench.cjs);
#  3. prints the device command. .gpu/ is ignored by git: the device call must carry it (carry: [".gpu"]).
# The PyTorch side (scripts/bench_torch.py) travels with the working tree; the bench finds it from the repo root.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"

# import.meta.url (createRequire in src/node/backend.ts and wasmThreads.ts) does not exist in CommonJS: define it
# from the bundle's own file. mainFields as in scripts/build.mjs (tfjs's ESM builds carry the gradient registrations).
node_modules/.bin/esbuild scripts/bench.ts --bundle --platform=node --format=cjs --target=node20 \
  --main-fields=module,main --outfile=dist/bench.cjs --log-level=warning \
  --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu --external:electron \
  --define:import.meta.url=__bench_import_meta_url \
  "--banner:js=const __bench_import_meta_url = require('url').pathToFileURL(__filename).href;"
node dist/bench.cjs --list >/dev/null # the bundle loads
echo "bundled dist/bench.cjs ($(du -h dist/bench.cjs | cut -f1))"

../shared/tools/gpu-carry.sh dist/bench.cjs
# What the bundle was built from: the kit is a snapshot of the working tree (kernels edited later are not in it).
{
  echo "bench kit built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD), bench.cjs sha256 $(sha256sum dist/bench.cjs | cut -c1-16)"
  echo "uncommitted: $(git status --short -- src scripts | tr '\n' ' ')"
} > .gpu/kit.txt

# The performance issue's three 28x28 configs (--targets) and the three 16x16 ones (--quick), both kernel modes.
configs=fernn-c32-v1-b16-28,grnn-c32-b16-28,fernn-c16-v1-b16-28,fernn-c16-v1-b16-16,grnn-c16-b16-16,fernn-c8-v1-b8-16
cmd="source .gpu/enter.sh; cat .gpu/kit.txt; timeout -k 15 420 node .gpu/bench.cjs --backends webgpu --webgpu-kernels both --configs $configs --warmup 2 --torch-device cuda --torch-steps 10 --timeout-s 150 --json --jsonl \$OUT/bench.jsonl > \$OUT/bench.json 2> \$OUT/bench.log; echo \"bench exit \$?\"; grep -E '^(bench|backend|torch)|\] (torch|webgpu)' \$OUT/bench.log | grep -v ' \.\.\.\$'; tail -n 3 \$OUT/bench.log"
[ ${#cmd} -lt 2000 ] || { echo "device command is ${#cmd} chars (limit 2000)" >&2; exit 1; }
cat <<EOF

Kit ready in .gpu/ ($(du -sh .gpu | cut -f1)). On the GPU machine (device run, carry: [".gpu"], timeout_s 600), run:

$cmd

Results come back in \$OUT: bench.json (whole run, written at the end), bench.jsonl (one line per finished
measurement, kept if the time limit cuts the run short), bench.log (progress).
EOF
