extension RunViewer {
    /// The page's script: draws the network of the chosen frame on a canvas (hover a neuron
    /// to highlight its connections, click a module to highlight its inputs and outputs),
    /// plays the frames, and draws the metric curves with hover values and a log-scale
    /// toggle. With `#selftest` in the address it checks itself (drawing, curves, slider, play,
    /// no errors) and writes the result into #selftest, for the browser test.
    static let script = #"""
        "use strict";
        const errors = [];
        window.addEventListener("error", e => errors.push(String(e.message)));
        const consoleError = console.error.bind(console);
        console.error = (...args) => { errors.push(args.join(" ")); consoleError(...args); };
        const data = JSON.parse(document.getElementById("data").textContent);
        const net = document.getElementById("net"), ctx = net.getContext("2d");
        const slider = document.getElementById("slider"), playButton = document.getElementById("play");
        net.width = data.width; net.height = data.height;
        let current = data.frames.length - 1, hovered = -1, module = null, timer = null;

        function moduleNeurons(frame) {
          if (!module) return null;
          const names = new Set(module.inputs.concat(module.outputs)), chosen = new Set();
          for (const [neuron, text] of frame.labels) if (names.has(text)) chosen.add(neuron);
          return chosen;
        }

        function draw(index) {
          const frame = data.frames[index];
          ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, net.width, net.height);
          ctx.fillStyle = "#e8e8e8";
          for (const [x, y, w, h] of data.shades) ctx.fillRect(x, y, w, h);
          ctx.fillStyle = "#222"; ctx.font = "12px sans-serif"; ctx.textAlign = "end";
          for (const [x, y, text] of data.layerLabels) ctx.fillText(text, x, y);
          ctx.lineWidth = 0.8;
          for (const [x1, y1, x2, y2, dark] of data.guides) {
            ctx.strokeStyle = dark ? "#9a9a9a" : "#c8c8c8";
            ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x2, y2); ctx.stroke();
          }
          const focus = hovered >= 0 ? new Set([hovered]) : moduleNeurons(frame);
          const lines = frame.lines;
          // Weakest first, so the strong lines end on top.
          for (let i = lines.length - 3; i >= 0; i -= 3) {
            const from = lines[i], to = lines[i + 1], value = lines[i + 2], strength = Math.abs(value) / 1000;
            const lit = !focus || focus.has(from) || focus.has(to);
            const a = data.neurons[from], b = data.neurons[to];
            ctx.strokeStyle = value > 0 ? "#1f4fd1" : "#d11f1f";
            ctx.globalAlpha = lit ? Math.min(1, 0.25 + strength) : 0.06;
            ctx.lineWidth = Math.max(0.3, 3 * strength) * (focus && lit ? 1.5 : 1);
            ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
          }
          ctx.globalAlpha = 1;
          for (let i = 0; i < data.neurons.length; i++) {
            const [x, y, r] = data.neurons[i];
            ctx.fillStyle = focus && focus.has(i) ? "#f0a000" : "#222";
            ctx.beginPath(); ctx.arc(x, y, focus && focus.has(i) ? r + 2 : r, 0, 2 * Math.PI); ctx.fill();
          }
          ctx.textAlign = "center"; ctx.fillStyle = "#222";
          for (const [neuron, text, y, size] of frame.labels) {
            if (neuron < 0) continue;
            ctx.font = size + "px sans-serif";
            ctx.fillText(text, data.neurons[neuron][0], y);
          }
          document.getElementById("frame").textContent =
            "step " + frame.step + (frame.relocated ? " (after a relocation)" : "") + ", frame " +
            (index + 1) + " of " + data.frames.length;
          drawTimeline(index);
        }

        function drawTimeline(index) {
          const canvas = document.getElementById("timeline"), c = canvas.getContext("2d");
          const steps = data.frames.map(f => f.step), last = Math.max(1, steps[steps.length - 1]);
          c.clearRect(0, 0, canvas.width, canvas.height);
          c.fillStyle = "#eee"; c.fillRect(0, 5, canvas.width, 4);
          for (const f of data.frames) if (f.relocated) {
            c.fillStyle = "#e08a00"; c.fillRect(f.step / last * (canvas.width - 2), 0, 2, 14);
          }
          c.fillStyle = "#1f4fd1"; c.fillRect(steps[index] / last * (canvas.width - 6), 2, 6, 10);
        }

        function show(index) { current = index; slider.value = index; draw(index); }
        slider.addEventListener("input", () => show(Number(slider.value)));
        function stop() { clearInterval(timer); timer = null; playButton.textContent = "play"; }
        playButton.addEventListener("click", () => {
          if (timer) return stop();
          if (current >= data.frames.length - 1) show(0);
          playButton.textContent = "pause";
          timer = setInterval(() => current >= data.frames.length - 1 ? stop() : show(current + 1), 150);
        });
        net.addEventListener("mousemove", event => {
          const box = net.getBoundingClientRect(), sx = net.width / box.width, sy = net.height / box.height;
          const x = (event.clientX - box.left) * sx, y = (event.clientY - box.top) * sy;
          let best = -1, distance = 64;
          for (let i = 0; i < data.neurons.length; i++) {
            const dx = data.neurons[i][0] - x, dy = data.neurons[i][1] - y, d = dx * dx + dy * dy;
            if (d < distance) { distance = d; best = i; }
          }
          if (best !== hovered) { hovered = best; draw(current); }
        });
        net.addEventListener("mouseleave", () => { hovered = -1; draw(current); });

        const list = document.getElementById("modules");
        data.modules.forEach((m, i) => {
          const item = document.createElement("li");
          const names = list =>
            list.length > 8 ? list.slice(0, 8).join(", ") + ", ... (" + list.length + ")" : list.join(", ");
          item.textContent = "module " + (i + 1) + ": {" + names(m.inputs) + "} \u2192 {" +
            names(m.outputs) + "}, hidden " + m.hidden.join("-");
          item.addEventListener("click", () => {
            module = module === m ? null : m;
            for (const other of list.children) other.classList.remove("active");
            if (module) item.classList.add("active");
            draw(current);
          });
          list.appendChild(item);
        });
        if (!data.modules.length) list.innerHTML = "<li>none joins inputs to outputs</li>";
        if (data.blocks) document.getElementById("blocks").innerHTML = data.blocks.map((b, i) =>
          "block " + i + ": " + b.heads + " of " + b.headFractions.length + " heads alive, " +
          b.mlp + " of " + b.mlpTotal + " MLP neurons").join("<br>");
        if (data.problems.length)
          document.getElementById("problems").textContent = "left out: " + data.problems.join("; ");

        // Curves: one panel per metric, a shared step axis, hover for values.
        const curves = document.getElementById("curves"), cc = curves.getContext("2d"),
          logBox = document.getElementById("logscale");
        const series = [["train_loss", "train loss", "#1f4fd1"], ["test_loss", "test loss", "#d11f1f"],
                        ["cost", "connection cost", "#2a9d2a"], ["lambda", "lambda", "#8a4fd1"]]
          .filter(([key]) => (data.metrics[key] || []).some(v => v !== null));
        const steps = data.metrics.step || [];
        let hoverStep = -1;
        function drawCurves() {
          cc.fillStyle = "#fff"; cc.fillRect(0, 0, curves.width, curves.height);
          const panel = curves.width / Math.max(1, series.length), last = Math.max(1, steps[steps.length - 1] || 1);
          series.forEach(([key, label, color], p) => {
            const values = data.metrics[key], x0 = p * panel + 40, w = panel - 55, y0 = 20, h = curves.height - 45;
            const usable = values.filter(v => v !== null && (!logBox.checked || v > 0));
            if (!usable.length) return;
            const f = v => logBox.checked ? Math.log10(v) : v;
            let low = Math.min(...usable.map(f)), high = Math.max(...usable.map(f));
            if (high === low) { high += 1; low -= 1; }
            cc.strokeStyle = "#ccc"; cc.strokeRect(x0, y0, w, h);
            cc.fillStyle = "#222"; cc.font = "12px sans-serif"; cc.textAlign = "left"; cc.fillText(label, x0, 14);
            cc.font = "10px sans-serif"; cc.textAlign = "right";
            const tick = v => logBox.checked ? Number(Math.pow(10, v).toPrecision(2)) : Number(v.toPrecision(3));
            cc.fillText(tick(high), x0 - 3, y0 + 8); cc.fillText(tick(low), x0 - 3, y0 + h);
            for (const frame of data.frames) if (frame.relocated) {
              cc.fillStyle = "rgba(224,138,0,0.35)"; cc.fillRect(x0 + frame.step / last * w, y0, 1, h);
            }
            cc.strokeStyle = color; cc.lineWidth = 1.5; cc.beginPath();
            let started = false;
            values.forEach((v, i) => {
              if (v === null || (logBox.checked && v <= 0)) return;
              const x = x0 + steps[i] / last * w, y = y0 + h - (f(v) - low) / (high - low) * h;
              started ? cc.lineTo(x, y) : cc.moveTo(x, y); started = true;
            });
            cc.stroke();
            if (hoverStep >= 0) { cc.fillStyle = "#888"; cc.fillRect(x0 + steps[hoverStep] / last * w, y0, 1, h); }
          });
        }
        curves.addEventListener("mousemove", event => {
          const box = curves.getBoundingClientRect(), x = (event.clientX - box.left) * curves.width / box.width;
          const panel = curves.width / Math.max(1, series.length), w = panel - 55,
            last = Math.max(1, steps[steps.length - 1] || 1);
          const step = Math.max(0, ((x % panel) - 40) / w * last);
          let best = 0;
          steps.forEach((s, i) => { if (Math.abs(s - step) < Math.abs(steps[best] - step)) best = i; });
          hoverStep = best;
          document.getElementById("readout").textContent = "step " + steps[best] + ": " +
            series.map(([key, label]) => label + " " +
              (data.metrics[key][best] === null ? "-" : Number(data.metrics[key][best].toPrecision(5)))).join(", ");
          drawCurves();
        });
        logBox.addEventListener("change", drawCurves);
        show(current);
        drawCurves();

        // Self-test for the browser test: drawing, curves, slider, play, no errors.
        if (location.hash === "#selftest") {
          const pixelsOf = canvas => canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
          const inked = canvas => {
            const pixels = pixelsOf(canvas);
            let count = 0;
            for (let i = 0; i < pixels.length; i += 4)
              if (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250) count++;
            return count;
          };
          // Per curve, the columns of the curves canvas holding a pixel of its colour: white blended
          // at least half way toward it (a stroke's antialiased core). Panel borders and labels are
          // grey, relocation marks a faint orange: only a drawn curve counts.
          const curveColumns = () => {
            const pixels = pixelsOf(curves), columns = {};
            for (const [key, , color] of series) {
              const d = [1, 3, 5].map(i => 255 - parseInt(color.slice(i, i + 2), 16));
              const length = d[0] * d[0] + d[1] * d[1] + d[2] * d[2], seen = new Set();
              for (let i = 0; i < pixels.length; i += 4) {
                const p = [255 - pixels[i], 255 - pixels[i + 1], 255 - pixels[i + 2]];
                const along = (p[0] * d[0] + p[1] * d[1] + p[2] * d[2]) / length;
                const off = Math.hypot(p[0] - along * d[0], p[1] - along * d[1], p[2] - along * d[2]);
                if (along >= 0.5 && off < 24) seen.add((i / 4) % curves.width);
              }
              columns[key] = seen.size;
            }
            return columns;
          };
          const result = { frames: data.frames.length, networkInk: inked(net), curveColumns: curveColumns(),
                           series: series.length };
          const picture = () => net.toDataURL();
          const started = performance.now();
          for (let i = 0; i < 10; i++) draw(i % data.frames.length);
          result.drawMilliseconds = (performance.now() - started) / 10;
          // The slider as a user moves it: its value set, then the input event the browser sends.
          const slide = index => { slider.value = index; slider.dispatchEvent(new Event("input")); return picture(); };
          const lastPicture = slide(data.frames.length - 1);
          result.sliderChangesDrawing = slide(0) !== lastPicture;
          result.sliderFrame = current;
          playButton.click();
          setTimeout(() => {
            result.playAdvanced = current > 0;
            stop();
            result.errors = errors;
            const out = document.getElementById("selftest");
            out.textContent = JSON.stringify(result);
            out.hidden = false;
          }, 1000);
        }
        """#
}
