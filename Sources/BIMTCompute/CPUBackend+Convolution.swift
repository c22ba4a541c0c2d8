// CPU twins of Kernels/conv.cl and pool.cl (NHWC), split over the cores by rows.
extension CPUBackend {
    func im2col(_ s: ConvolutionShape, input: BufferSlice, columns: BufferSlice) throws {
        let x = pointer(input), cols = pointer(columns)
        let (H, W, C, KH, KW, Ho, Wo) = (s.height, s.width, s.channels, s.kernelHeight, s.kernelWidth, s.outputHeight, s.outputWidth)
        let width = s.patchSize
        parallelChunks(s.patchCount, grain: max(1, (1 << 14) / width)) { range in
            for row in range {
                let ox = row % Wo, oy = (row / Wo) % Ho, n = row / (Wo * Ho)
                let target = cols + row * width
                for ky in 0..<KH {
                    let iy = oy * s.stride + ky - s.padding
                    for kx in 0..<KW {
                        let ix = ox * s.stride + kx - s.padding, patch = target + (ky * KW + kx) * C
                        if iy >= 0 && iy < H && ix >= 0 && ix < W {
                            patch.update(from: x + ((n * H + iy) * W + ix) * C, count: C)
                        } else {
                            patch.update(repeating: 0, count: C)
                        }
                    }
                }
            }
        }
    }

    func col2im(_ s: ConvolutionShape, columnGradient: BufferSlice, inputGradient: BufferSlice) throws {
        let cols = pointer(columnGradient), dx = pointer(inputGradient)
        let (H, W, C, KH, KW, Ho, Wo) = (s.height, s.width, s.channels, s.kernelHeight, s.kernelWidth, s.outputHeight, s.outputWidth)
        let width = s.patchSize
        // Gather per input pixel (as the kernel does): each pixel's channels are written by one thread.
        parallelChunks(s.batch * H * W, grain: max(1, (1 << 13) / C)) { range in
            for pixel in range {
                let ix = pixel % W, iy = (pixel / W) % H, n = pixel / (W * H)
                let target = dx + pixel * C
                for ky in 0..<KH {
                    let ty = iy + s.padding - ky
                    guard ty >= 0, ty % s.stride == 0, ty / s.stride < Ho else { continue }
                    for kx in 0..<KW {
                        let tx = ix + s.padding - kx
                        guard tx >= 0, tx % s.stride == 0, tx / s.stride < Wo else { continue }
                        let source = cols + ((n * Ho + ty / s.stride) * Wo + tx / s.stride) * width + (ky * KW + kx) * C
                        for c in 0..<C { target[c] += source[c] }
                    }
                }
            }
        }
    }

    func poolForward(_ s: PoolShape, input: BufferSlice, output: BufferSlice) throws {
        let x = pointer(input), y = pointer(output)
        let (H, W, C, K) = (s.height, s.width, s.channels, s.size), Ho = H / K, Wo = W / K
        parallelChunks(s.batch * Ho * Wo, grain: max(1, (1 << 13) / C)) { range in
            for cell in range {
                let ox = cell % Wo, oy = (cell / Wo) % Ho, n = cell / (Wo * Ho)
                let target = y + cell * C
                for c in 0..<C { target[c] = s.isMax ? -.infinity : 0 }
                for ky in 0..<K {
                    for kx in 0..<K {
                        let source = x + ((n * H + oy * K + ky) * W + ox * K + kx) * C
                        for c in 0..<C { target[c] = s.isMax ? max(target[c], source[c]) : target[c] + source[c] }
                    }
                }
                if !s.isMax { for c in 0..<C { target[c] /= Float(K * K) } }
            }
        }
    }

    func poolBackward(_ s: PoolShape, input: BufferSlice, outputGradient: BufferSlice, inputGradient: BufferSlice) throws {
        let x = pointer(input), dy = pointer(outputGradient), dx = pointer(inputGradient)
        let (H, W, C, K) = (s.height, s.width, s.channels, s.size), Ho = H / K, Wo = W / K
        parallelChunks(s.batch * Ho * Wo, grain: max(1, (1 << 13) / C)) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: C) { largest in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: C) { best in
                    for cell in range {
                        let ox = cell % Wo, oy = (cell / Wo) % Ho, n = cell / (Wo * Ho)
                        let g = dy + cell * C
                        func pixel(_ ky: Int, _ kx: Int) -> Int { ((n * H + oy * K + ky) * W + ox * K + kx) * C }
                        if !s.isMax {
                            let scale = 1 / Float(K * K)
                            for ky in 0..<K { for kx in 0..<K { let t = dx + pixel(ky, kx); for c in 0..<C { t[c] += g[c] * scale } } }
                            continue
                        }
                        // The window's first maximum (row-major) per channel, channels contiguous.
                        let first = x + pixel(0, 0)
                        for c in 0..<C { largest[c] = first[c]; best[c] = 0 }
                        for w in 1..<(K * K) {
                            let v = x + pixel(w / K, w % K)
                            for c in 0..<C where v[c] > largest[c] { largest[c] = v[c]; best[c] = w }
                        }
                        for c in 0..<C { dx[pixel(best[c] / K, best[c] % K) + c] += g[c] }
                    }
                }
            }
        }
    }
}
