import { expect } from 'chai';
import { escapeHtml, formatNumber, siCount } from '../../src/report/format.js';
import { shellQuote, renderJson } from '../../src/report/html.js';

describe('report formatting', () => {
  it('takes the unit from the key', () => {
    expect(formatNumber('energy_pj', 1_234_000)).to.equal('1.234 µJ');
    expect(formatNumber('latency_p95_us', 2500)).to.equal('2.5 ms');
    expect(formatNumber('latencyUs', 12.5)).to.equal('12.5 µs');
    expect(formatNumber('cycles', 1234567)).to.equal('1,234,567 cycles');
    expect(formatNumber('compute_cycles', 12)).to.equal('12 cycles');
    expect(formatNumber('dram_bytes', 3 * 1024 * 1024)).to.equal('3 MiB');
    expect(formatNumber('clock_mhz', 500)).to.equal('500 MHz');
    expect(formatNumber('speedup', 4.321)).to.equal('4.32×');
    expect(formatNumber('energy_gain', 2.5)).to.equal('2.5×');
    expect(formatNumber('temporal_sparsity', 0.931)).to.equal('93.1 %');
    expect(formatNumber('effective_macs', 30_500_000)).to.equal('30.5 M');
    expect(formatNumber('frames', 12)).to.equal('12');
  });

  it("takes a nested key's unit from its innermost part that names one", () => {
    expect(formatNumber('latencyUs.p95', 2500)).to.equal('2.5 ms');
    expect(formatNumber('energy.sramPJ.ifmap', 1_234_000)).to.equal('1.234 µJ');
    expect(formatNumber('energy.totalPJ', 2000)).to.equal('2 nJ');
    expect(formatNumber('footprint.stateBytes', 1_572_864)).to.equal('1.5 MiB');
    expect(formatNumber('footprint.weightRefetch', 2)).to.equal('2');
    expect(formatNumber('arch.rows', 32)).to.equal('32');
  });

  it('counts in SI only when large', () => {
    expect(siCount(999)).to.equal('999');
    expect(siCount(2_000_000)).to.equal('2 M');
  });

  it('escapes HTML and quotes shell words', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).to.equal('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(shellQuote(['deltasim', 'report', 'a b', "it's"])).to.equal(`deltasim report 'a b' 'it'\\''s'`);
  });

  it('renders per-mode objects as one matrix table and nested objects under headings', () => {
    const html = renderJson({ name: 'x', modes: { dense: { cycles: 10 }, delta: { cycles: 2, state_bytes: 1024 } } });
    expect(html).to.match(/<h3>modes<\/h3>/);
    expect(html).to.match(/<th scope="col">dense<\/th><th scope="col">delta<\/th>/);
    expect(html).to.include('<td class="num">1 KiB</td>');
    expect(html).to.include('<td>—</td>'); // dense has no state_bytes
  });
});
