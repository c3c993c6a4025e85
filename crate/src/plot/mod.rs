//! Attention maps as pixels: the one rasteriser behind the page's heatmaps (drawn in the worker,
//! see `wasm::draw_map`) and the CLI's PNG figures (`glassbox plot`), so both give the same bytes.
//!
//! A map is `[rows][cols]` probabilities. Each cell becomes one `cell_px` x `cell_px` block coloured
//! on a five-stop 0..1 scale; masked cells (a decoder's future keys) are hatched with thin
//! diagonal lines; with `grid_lines` a one-pixel line in the background colour separates the cells.
//! Axes, labels, the cursor and hover read-outs are the caller's (the page's canvas, or nothing).

use crate::error::{Error, Result};
use crate::models::AttentionMaps;
use ndarray::{Array2, Axis};

pub type Rgb = [u8; 3];

/// The colours of a map. [`Palette::LIGHT`] and [`Palette::DARK`] are www/style.css's themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    /// The 0, 0.25, 0.5, 0.75 and 1 stops of the scale.
    pub stops: [Rgb; 5],
    pub masked: Rgb,
    pub hatch: Rgb,
    /// The lines between cells (the page's background).
    pub grid: Rgb,
}

impl Palette {
    pub const LIGHT: Palette = Palette {
        stops: [[0xf4, 0xf8, 0xfd], [0xc3, 0xd7, 0xee], [0x6f, 0xa3, 0xd6], [0x2c, 0x66, 0xad], [0x0b, 0x2e, 0x66]],
        masked: [0xec, 0xee, 0xf1],
        hatch: [0xc5, 0xca, 0xd3],
        grid: [0xf6, 0xf7, 0xf9],
    };
    pub const DARK: Palette = Palette {
        stops: [[0x1f, 0x25, 0x30], [0x27, 0x45, 0x6e], [0x3d, 0x78, 0xb8], [0x7f, 0xb4, 0xea], [0xe9, 0xf3, 0xff]],
        masked: [0x22, 0x26, 0x2d],
        hatch: [0x3b, 0x41, 0x4c],
        grid: [0x14, 0x17, 0x1c],
    };
}

impl Default for Palette {
    fn default() -> Self {
        Palette::LIGHT
    }
}

/// `#rgb` or `#rrggbb` (how the page's CSS custom properties are written).
pub fn parse_hex(color: &str, what: &str) -> Result<Rgb> {
    let hex = color.trim().trim_start_matches('#');
    let full: String = if hex.len() == 3 { hex.chars().flat_map(|c| [c, c]).collect() } else { hex.to_owned() };
    let byte = |i: usize| full.get(i..i + 2).and_then(|s| u8::from_str_radix(s, 16).ok());
    match (full.len(), byte(0), byte(2), byte(4)) {
        (6, Some(r), Some(g), Some(b)) => Ok([r, g, b]),
        _ => Err(Error::input(format!("{what} \"{color}\" is not a colour"), "Write colours as #rgb or #rrggbb")),
    }
}

/// Which cells the model may not look at.
#[derive(Debug, Clone, Copy)]
pub enum Mask<'a> {
    None,
    /// A decoder's causal mask: key `k` is masked for query `q` when `k > q + (cols - rows)` (the
    /// queries are the last `rows` positions of the `cols` keys).
    Causal,
    /// One byte per cell, row-major: non-zero is masked.
    Cells(&'a [u8]),
}

impl Mask<'_> {
    fn is_masked(&self, row: usize, col: usize, rows: usize, cols: usize) -> bool {
        match self {
            Mask::None => false,
            Mask::Causal => col + rows > row + cols,
            Mask::Cells(m) => m.get(row * cols + col).is_some_and(|&v| v != 0),
        }
    }
}

/// How big the blocks are. `hatch_px` is the spacing of the hatching's diagonal lines.
#[derive(Debug, Clone, Copy)]
pub struct MapStyle {
    pub cell_px: usize,
    pub grid_lines: bool,
    pub hatch_px: usize,
}

impl MapStyle {
    /// The page's look at `cell_px` pixels per cell: lines between cells from 12 px up, hatching every 10 px.
    pub fn for_cell(cell_px: usize) -> Self {
        MapStyle { cell_px, grid_lines: cell_px >= 12, hatch_px: 10 }
    }
}

/// Pixels drawn at most (a 64 MB RGBA buffer): a bigger request is refused by name.
pub const MAX_PIXELS: usize = 16 << 20;

/// An RGBA image, row-major, 4 bytes a pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
}

/// The colour of probability `p` on the scale: the same arithmetic as the page's legend
/// (clamped to 0..1; NaN and infinities count as 0; channels rounded half up).
pub fn heat_color(stops: &[Rgb; 5], p: f32) -> Rgb {
    let p = if p.is_finite() { (p as f64).clamp(0.0, 1.0) } else { 0.0 };
    let x = p * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let t = x - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    std::array::from_fn(|k| (a[k] as f64 + (b[k] as f64 - a[k] as f64) * t + 0.5).floor() as u8)
}

/// Draw `values` (`[rows][cols]`) as an image of `cols * cell_px` x `rows * cell_px` pixels
/// (plus one pixel right and below for the closing grid line when `grid_lines`).
pub fn rasterize(values: &[f32], rows: usize, cols: usize, mask: Mask, style: MapStyle, palette: &Palette) -> Result<Image> {
    if values.len() != rows * cols {
        return Err(Error::input(
            format!("the map has {} values but {rows} rows x {cols} columns need {}", values.len(), rows * cols),
            "Pass one value per cell, row-major",
        ));
    }
    if let Mask::Cells(m) = mask {
        if m.len() != rows * cols {
            return Err(Error::input(format!("the mask has {} cells but the map has {}", m.len(), rows * cols), "Pass one mask byte per cell"));
        }
    }
    let cell = style.cell_px;
    if cell == 0 {
        return Err(Error::input("the cell size is 0 pixels", "Use a cell size of at least 1 pixel"));
    }
    let edge = usize::from(style.grid_lines);
    let width = cols.checked_mul(cell).and_then(|w| w.checked_add(edge));
    let height = rows.checked_mul(cell).and_then(|h| h.checked_add(edge));
    let (width, height) = match (width, height) {
        (Some(w), Some(h)) if w.checked_mul(h).is_some_and(|n| n <= MAX_PIXELS) => (w, h),
        _ => {
            // The largest cell that fits, named in the fix (a reader should not have to guess it).
            let fits = |c: usize| (cols * c + edge).saturating_mul(rows * c + edge) <= MAX_PIXELS;
            let mut most = ((MAX_PIXELS / (rows * cols).max(1)) as f64).sqrt() as usize + 1;
            while most > 0 && !fits(most) {
                most -= 1;
            }
            return Err(Error::input(
                format!("a {rows} x {cols} map at {cell} px a cell is more than {MAX_PIXELS} pixels"),
                match most {
                    0 => "Draw fewer tokens: even 1 px a cell is too large".to_string(),
                    most => format!("Use a cell size of at most {most} px"),
                },
            ));
        }
    };
    let hatch = style.hatch_px.max(1);
    let mut rgba = vec![255u8; width * height * 4];
    // One colour per cell, then whole rows of pixels: the inner loop only copies.
    let colors: Vec<Option<Rgb>> = (0..rows * cols)
        .map(|i| (!mask.is_masked(i / cols, i % cols, rows, cols)).then(|| heat_color(&palette.stops, values[i])))
        .collect();
    for y in 0..height {
        let row = (y / cell).min(rows.saturating_sub(1));
        let line = &mut rgba[y * width * 4..(y + 1) * width * 4];
        let on_h_line = style.grid_lines && y % cell == 0;
        for (x, px) in line.chunks_exact_mut(4).enumerate() {
            let col = (x / cell).min(cols.saturating_sub(1));
            let rgb = if on_h_line || (style.grid_lines && x % cell == 0) || y >= rows * cell || x >= cols * cell {
                palette.grid
            } else {
                match colors[row * cols + col] {
                    Some(c) => c,
                    // Diagonal lines (bottom-left to top-right) every `hatch` pixels, continuous across cells.
                    None if (x + y) % hatch == 0 => palette.hatch,
                    None => palette.masked,
                }
            };
            px[..3].copy_from_slice(&rgb);
        }
    }
    Ok(Image { width, height, rgba })
}

/// One head's `[Tq][Tk]` map of `layer`, or (`head = None`) the mean over the heads, the page's
/// "mean of heads": summed head by head in order, then divided by H (the page's order of operations).
pub fn head_map(maps: &AttentionMaps, layer: usize, head: Option<usize>) -> Result<Vec<f32>> {
    let (l, h, tq, tk) = maps.dim();
    if layer >= l {
        let last = l.saturating_sub(1);
        return Err(Error::input(format!("layer {layer} does not exist: this map has layers 0 to {last}"), format!("Pick a layer from 0 to {last}")));
    }
    let heads = maps.index_axis(Axis(0), layer); // [H][Tq][Tk]
    match head {
        Some(head) if head >= h => {
            let last = h.saturating_sub(1);
            Err(Error::input(format!("head {head} does not exist: this layer has heads 0 to {last}"), format!("Pick a head from 0 to {last}, or the mean")))
        }
        Some(head) => Ok(heads.index_axis(Axis(0), head).iter().copied().collect()),
        None => {
            let mut mean = Array2::<f32>::zeros((tq, tk));
            for map in heads.outer_iter() {
                mean += &map;
            }
            mean /= h as f32;
            Ok(mean.iter().copied().collect())
        }
    }
}

/// Every head of every layer of `maps` as one image: a grid of L rows by H columns of maps,
/// `gap_px` of the grid colour between them.
pub fn grid_of_heads(maps: &AttentionMaps, mask: Mask, style: MapStyle, gap_px: usize, palette: &Palette) -> Result<Image> {
    let (l, h, tq, tk) = maps.dim();
    let data = maps.as_standard_layout();
    grid(data.as_slice().unwrap_or_default(), l * h, h, tq, tk, mask, style, gap_px, palette)
}

/// `count` maps of `[rows][cols]` stored one after another in `values`, drawn `columns` to a row
/// with `gap_px` of the grid colour between them (the page's "every head" view, in one bitmap).
#[allow(clippy::too_many_arguments)]
pub fn grid(values: &[f32], count: usize, columns: usize, rows: usize, cols: usize, mask: Mask, style: MapStyle, gap_px: usize, palette: &Palette) -> Result<Image> {
    let size = rows * cols;
    if count == 0 || columns == 0 || values.len() != count * size {
        return Err(Error::input(
            format!("{} values do not make {count} maps of {rows} x {cols} in rows of {columns}", values.len()),
            "Pass the maps one after another, and a count and columns of at least 1",
        ));
    }
    let n_rows = count.div_ceil(columns);
    let first = rasterize(&values[..size], rows, cols, mask, style, palette)?;
    let (w, h) = (first.width, first.height);
    let width = columns * w + (columns - 1) * gap_px;
    let height = n_rows * h + (n_rows - 1) * gap_px;
    if width.checked_mul(height).is_none_or(|n| n > MAX_PIXELS) {
        return Err(Error::input(format!("a grid of {count} maps of {w} x {h} pixels is more than {MAX_PIXELS} pixels"), "Use a smaller cell size"));
    }
    let mut rgba: Vec<u8> = palette.grid.iter().copied().chain([255]).cycle().take(width * height * 4).collect();
    for (i, block) in values.chunks_exact(size.max(1)).enumerate() {
        let img = if i == 0 { first.clone() } else { rasterize(block, rows, cols, mask, style, palette)? };
        let (ox, oy) = ((i % columns) * (w + gap_px), (i / columns) * (h + gap_px));
        for y in 0..h {
            let dst = ((oy + y) * width + ox) * 4;
            rgba[dst..dst + w * 4].copy_from_slice(&img.rgba[y * w * 4..(y + 1) * w * 4]);
        }
    }
    Ok(Image { width, height, rgba })
}

/// The image as a PNG file (8-bit RGBA), for the CLI's figures.
#[cfg(not(target_arch = "wasm32"))]
pub fn write_png(image: &Image, out: &mut impl std::io::Write) -> std::result::Result<(), String> {
    let mut encoder = png::Encoder::new(out, image.width as u32, image.height as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(&image.rgba).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_ends_and_middle_match_the_stops() {
        let p = Palette::LIGHT;
        assert_eq!(heat_color(&p.stops, 0.0), p.stops[0]);
        assert_eq!(heat_color(&p.stops, 1.0), p.stops[4]);
        assert_eq!(heat_color(&p.stops, 0.5), p.stops[2]);
        assert_eq!(heat_color(&p.stops, f32::NAN), p.stops[0]);
        assert_eq!(heat_color(&p.stops, 7.0), p.stops[4]);
    }

    #[test]
    fn causal_cells_are_hatched_and_blocks_are_whole() {
        let values = [1.0, 0.0, 0.5, 0.5];
        let img = rasterize(&values, 2, 2, Mask::Causal, MapStyle { cell_px: 4, grid_lines: false, hatch_px: 10 }, &Palette::LIGHT).unwrap();
        assert_eq!((img.width, img.height), (8, 8));
        let px = |x: usize, y: usize| [img.rgba[(y * 8 + x) * 4], img.rgba[(y * 8 + x) * 4 + 1], img.rgba[(y * 8 + x) * 4 + 2]];
        // Row 0, key 1 is the future: masked (x + y = 5 is not on a hatch line).
        assert_eq!(px(5, 0), Palette::LIGHT.masked);
        assert_eq!(px(3, 3), Palette::LIGHT.stops[4]);
        assert_eq!(px(1, 6), Palette::LIGHT.stops[2]);
    }

    #[test]
    fn mean_of_heads_is_the_average() {
        let maps = AttentionMaps::from_shape_vec((1, 2, 1, 2), vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        assert_eq!(head_map(&maps, 0, None).unwrap(), vec![0.5, 0.5]);
        assert!(head_map(&maps, 0, Some(2)).unwrap_err().to_string().contains("head 2"));
    }
}
