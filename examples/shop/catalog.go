package main

import (
	"fmt"
	"strings"
)

// product is one thing the shop sells.
type product struct {
	SKU    string
	Name   string
	Blurb  string
	Cents  int
	Colour string // the swatch behind its initials
}

// Price formats the price as euros.
func (p product) Price() string { return euros(p.Cents) }

// Initials are shown on the swatch.
func (p product) Initials() string {
	var b strings.Builder
	for _, w := range strings.Fields(p.Name) {
		b.WriteString(w[:1])
		if b.Len() == 2 {
			break
		}
	}
	return b.String()
}

func euros(cents int) string { return fmt.Sprintf("€%d.%02d", cents/100, cents%100) }

// catalog is the whole shop, in display order.
var catalog = []product{
	{"TEA-SEN", "Sencha Uji", "Grassy, bright green tea from Kyoto prefecture.", 1290, "#5b8c5a"},
	{"TEA-ASS", "Assam Breakfast", "Malty black tea that stands up to milk.", 890, "#8c4a2f"},
	{"TEA-OOL", "Milk Oolong", "Creamy, floral, rolled by hand in Taiwan.", 1650, "#c49a3a"},
	{"TEA-CHA", "Masala Chai", "Black tea with cardamom, ginger and clove.", 990, "#b5562a"},
	{"COF-ETH", "Yirgacheffe", "Light-roast Ethiopian coffee, notes of jasmine.", 1490, "#6d4c41"},
	{"COF-COL", "Huila Espresso", "Chocolate and cherry, for the moka pot.", 1350, "#3e2723"},
	{"ACC-POT", "Glass Teapot", "600 ml, with a steel infuser.", 2400, "#4a7a8c"},
	{"ACC-CUP", "Stoneware Cups", "A pair, glazed in ash grey.", 1800, "#7a7f85"},
}

// productBySKU finds a product.
func productBySKU(sku string) (product, bool) {
	for _, p := range catalog {
		if p.SKU == sku {
			return p, true
		}
	}
	return product{}, false
}
