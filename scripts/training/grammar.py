"""A small synchronous grammar: English sentences and their French-like translations, with the
word alignment, built together so both sides always agree.

Phenomena that make cross-attention worth looking at:
  - adjective-noun reordering: colours and most adjectives follow the noun ("the red car" ->
    "la voiture rouge"); a few (small, big, young, good, bad, pretty, long) precede it, so two
    adjectives give crossing links ("the small red car" -> "la petite voiture rouge");
  - gender and number agreement of determiners and adjectives (le/la/les, petit/petite/petites);
  - verbs that agree with their subject (sees/see -> voit/voient);
  - relative clauses, with qui for subjects and que for objects
    ("the dog that the cat sees" -> "le chien que le chat voit");
  - prepositional phrases ("under the table" -> "sous la table").

Every noun begins with a consonant sound in French so no elision (l') is needed: one English word
aligns with one French word, except "a"/"an" -> un/une etc. which is one-to-one as well.
"""

import random
from dataclasses import dataclass, field

# English singular, English plural, French singular, French plural, gender; "+" marks animate
# nouns (the ones that can see, sleep, sing...).
NOUNS = """
dog dogs chien chiens m +
cat cats chat chats m +
horse horses cheval chevaux m +
mouse mice souris souris f +
cow cows vache vaches f +
rabbit rabbits lapin lapins m +
fox foxes renard renards m +
wolf wolves loup loups m +
fish fish poisson poissons m +
duck ducks canard canards m +
goat goats chevre chevres f +
pig pigs cochon cochons m +
lion lions lion lions m +
tiger tigers tigre tigres m +
frog frogs grenouille grenouilles f +
snake snakes serpent serpents m +
owl owls chouette chouettes f +
ant ants fourmi fourmis f +
monkey monkeys singe singes m +
turtle turtles tortue tortues f +
whale whales baleine baleines f +
hen hens poule poules f +
man men monsieur messieurs m +
woman women femme femmes f +
boy boys garcon garcons m +
girl girls fille filles f +
teacher teachers professeur professeurs m +
doctor doctors medecin medecins m +
baker bakers boulanger boulangers m +
farmer farmers fermier fermiers m +
king kings roi rois m +
queen queens reine reines f +
neighbour neighbours voisin voisins m +
sister sisters soeur soeurs f +
brother brothers frere freres m +
mother mothers mere meres f +
father fathers pere peres m +
cook cooks cuisinier cuisiniers m +
singer singers chanteur chanteurs m +
painter painters peintre peintres m +
car cars voiture voitures f
house houses maison maisons f
book books livre livres m
table tables table tables f
chair chairs chaise chaises f
door doors porte portes f
window windows fenetre fenetres f
box boxes boite boites f
ball balls balle balles f
hat hats chapeau chapeaux m
shoe shoes chaussure chaussures f
bag bags sac sacs m
cup cups tasse tasses f
key keys cle cles f
lamp lamps lampe lampes f
bed beds lit lits m
bottle bottles bouteille bouteilles f
pen pens stylo stylos m
letter letters lettre lettres f
apple apples pomme pommes f
cake cakes gateau gateaux m
flower flowers fleur fleurs f
garden gardens jardin jardins m
river rivers riviere rivieres f
boat boats bateau bateaux m
train trains train trains m
bicycle bicycles velo velos m
road roads route routes f
bridge bridges pont ponts m
city cities ville villes f
village villages village villages m
shop shops magasin magasins m
park parks parc parcs m
forest forests foret forets f
mountain mountains montagne montagnes f
lake lakes lac lacs m
moon moons lune lunes f
cloud clouds nuage nuages m
shirt shirts chemise chemises f
dress dresses robe robes f
coat coats manteau manteaux m
clock clocks horloge horloges f
phone phones telephone telephones m
picture pictures tableau tableaux m
song songs chanson chansons f
map maps carte cartes f
ship ships navire navires m
banana bananas banane bananes f
carrot carrots carotte carottes f
kitchen kitchens cuisine cuisines f
room rooms chambre chambres f
wall walls mur murs m
stone stones pierre pierres f
leaf leaves feuille feuilles f
rock rocks rocher rochers m
field fields champ champs m
castle castles chateau chateaux m
tower towers tour tours f
candle candles bougie bougies f
spoon spoons cuillere cuilleres f
knife knives couteau couteaux m
plate plates plat plats m
basket baskets panier paniers m
rope ropes corde cordes f
pencil pencils crayon crayons m
ring rings bague bagues f
drum drums tambour tambours m
guitar guitars guitare guitares f
piano pianos piano pianos m
umbrella umbrellas parapluie parapluies m
blanket blankets couverture couvertures f
pillow pillows coussin coussins m
mirror mirrors miroir miroirs m
bench benches banc bancs m
wheel wheels roue roues f
truck trucks camion camions m
bus buses bus bus m
gate gates portail portails m
fence fences barriere barrieres f
pond ponds mare mares f
hill hills colline collines f
beach beaches plage plages f
cave caves grotte grottes f
"""

# English, French m.sg, f.sg, m.pl, f.pl; "pre" adjectives come before the noun in French.
ADJECTIVES = """
red rouge rouge rouges rouges post
black noir noire noirs noires post
white blanc blanche blancs blanches post
green vert verte verts vertes post
blue bleu bleue bleus bleues post
yellow jaune jaune jaunes jaunes post
grey gris grise gris grises post
brown brun brune bruns brunes post
round rond ronde ronds rondes post
heavy lourd lourde lourds lourdes post
happy heureux heureuse heureux heureuses post
sad triste triste tristes tristes post
tired fatigue fatiguee fatigues fatiguees post
hungry affame affamee affames affamees post
quiet calme calme calmes calmes post
noisy bruyant bruyante bruyants bruyantes post
clean propre propre propres propres post
dirty sale sale sales sales post
cold froid froide froids froides post
hot chaud chaude chauds chaudes post
strong fort forte forts fortes post
fast rapide rapide rapides rapides post
slow lent lente lents lentes post
rich riche riche riches riches post
famous celebre celebre celebres celebres post
strange etrange etrange etranges etranges post
wet mouille mouillee mouilles mouillees post
dry sec seche secs seches post
empty vide vide vides vides post
full plein pleine pleins pleines post
soft doux douce doux douces post
square carre carree carres carrees post
clever malin maligne malins malignes post
lazy paresseux paresseuse paresseux paresseuses post
brave courageux courageuse courageux courageuses post
angry fache fachee faches fachees post
busy occupe occupee occupes occupees post
modern moderne moderne modernes modernes post
broken casse cassee casses cassees post
small petit petite petits petites pre
big grand grande grands grandes pre
young jeune jeune jeunes jeunes pre
good bon bonne bons bonnes pre
bad mauvais mauvaise mauvais mauvaises pre
pretty joli jolie jolis jolies pre
long long longue longs longues pre
"""

# English 3sg, English plural, French 3sg, French 3pl.
TRANSITIVE = """
sees see voit voient
likes like aime aiment
watches watch regarde regardent
follows follow suit suivent
finds find trouve trouvent
takes take prend prennent
chases chase chasse chassent
helps help aide aident
carries carry porte portent
pushes push pousse poussent
pulls pull tire tirent
holds hold tient tiennent
wants want veut veulent
hears hear entend entendent
touches touch touche touchent
draws draw dessine dessinent
buys buy achete achetent
sells sell vend vendent
brings bring apporte apportent
loses lose perd perdent
opens open ouvre ouvrent
cleans clean nettoie nettoient
knows know connait connaissent
eats eat mange mangent
"""

INTRANSITIVE = """
sleeps sleep dort dorment
runs run court courent
sings sing chante chantent
waits wait attend attendent
dances dance danse dansent
jumps jump saute sautent
swims swim nage nagent
plays play joue jouent
laughs laugh rit rient
walks walk marche marchent
falls fall tombe tombent
works work travaille travaillent
cries cry pleure pleurent
"""

PREPOSITIONS = """
in dans
on sur
under sous
behind derriere
with avec
without sans
for pour
toward vers
"""

# English determiner -> French (m.sg, f.sg, pl); "a" has no plural in this grammar.
DETERMINERS = {
    "the": ("le", "la", "les"),
    "a": ("un", "une", None),
    "this": ("ce", "cette", None),
    "these": (None, None, "ces"),
    "my": ("mon", "ma", "mes"),
}


@dataclass
class Noun:
    en: str
    en_pl: str
    fr: str
    fr_pl: str
    gender: str
    animate: bool


@dataclass
class Adjective:
    en: str
    forms: dict  # (gender, plural) -> French form
    pre: bool


@dataclass
class Verb:
    en: str
    en_pl: str
    fr: str
    fr_pl: str


def _nouns():
    out = []
    for line in NOUNS.strip().splitlines():
        parts = line.split()
        out.append(Noun(parts[0], parts[1], parts[2], parts[3], parts[4], len(parts) > 5))
    return out


def _adjectives():
    out = []
    for line in ADJECTIVES.strip().splitlines():
        en, ms, fs, mp, fp, pos = line.split()
        out.append(Adjective(en, {("m", False): ms, ("f", False): fs, ("m", True): mp, ("f", True): fp}, pos == "pre"))
    return out


def _verbs(table):
    return [Verb(*line.split()) for line in table.strip().splitlines()]


LEX_NOUNS = _nouns()
LEX_ADJ = _adjectives()
LEX_TV = _verbs(TRANSITIVE)
LEX_IV = _verbs(INTRANSITIVE)
LEX_PREP = [tuple(line.split()) for line in PREPOSITIONS.strip().splitlines()]


@dataclass
class Side:
    """One side of a sentence being built: its words, each with a link id (or None) and a role."""
    words: list = field(default_factory=list)
    links: list = field(default_factory=list)
    content: list = field(default_factory=list)

    def add(self, word, link, content=False):
        self.words.append(word)
        self.links.append(link)
        self.content.append(content)


@dataclass
class Pair:
    src: list
    tgt: list
    alignment: list  # [(src word index, tgt word index)]
    content: list  # target word indices that are content words
    adj_nouns: set  # (adjective, noun) lemma pairs used

    def tsv(self):
        align = " ".join(f"{s}-{t}" for s, t in self.alignment)
        return "\t".join([" ".join(self.src), " ".join(self.tgt), align, ",".join(map(str, self.content))])


class Builder:
    def __init__(self, rng, allowed_pair, required_pairs=None):
        self.rng = rng
        self.allowed_pair = allowed_pair  # (adj, noun) -> bool
        self.required = required_pairs  # if set: one NP must use one of these (adj, noun) pairs
        self.en, self.fr = Side(), Side()
        self.next_link = 0
        self.used = set()

    def link(self):
        self.next_link += 1
        return self.next_link

    def word(self, en, fr, content):
        k = self.link()
        self.en.add(en, k, content)
        self.fr.add(fr, k, content)

    def noun_phrase(self, animate=None, plural=None, force_pair=None):
        """Returns (en words, fr words) as lists of (word, link, content), plus number."""
        rng = self.rng
        if force_pair is not None:
            adj, noun = force_pair
            adjs = [adj]
        else:
            pool = [n for n in LEX_NOUNS if animate is None or n.animate == animate]
            noun = rng.choice(pool)
            r = rng.random()
            count = 0 if r < 0.45 else (1 if r < 0.9 else 2)
            adjs = []
            if count == 2:
                pre = [a for a in LEX_ADJ if a.pre and self.allowed_pair(a.en, noun.en)]
                post = [a for a in LEX_ADJ if not a.pre and self.allowed_pair(a.en, noun.en)]
                adjs = [rng.choice(pre), rng.choice(post)]
            elif count == 1:
                adjs = [rng.choice([a for a in LEX_ADJ if self.allowed_pair(a.en, noun.en)])]
        if plural is None:
            plural = rng.random() < 0.35
        dets = [d for d, forms in DETERMINERS.items() if forms[2 if plural else (0 if noun.gender == "m" else 1)]]
        weights = [6 if d == "the" else 1 for d in dets]
        det = rng.choices(dets, weights)[0]
        det_fr = DETERMINERS[det][2 if plural else (0 if noun.gender == "m" else 1)]
        for a in adjs:
            self.used.add((a.en, noun.en))
        key = (noun.gender, plural)
        # English: det [pre adjectives] [post adjectives] noun; French: det [pre] noun [post].
        en_words, fr_words = [], []
        det_link = self.link()
        adj_links = {a.en: self.link() for a in adjs}
        noun_link = self.link()
        first_en = (adjs[0].en if adjs else (noun.en_pl if plural else noun.en))
        if det == "a" and first_en[0] in "aeiou":
            det = "an"
        en_words.append((det, det_link, False))
        fr_words.append((det_fr, det_link, False))
        for a in adjs:
            en_words.append((a.en, adj_links[a.en], True))
        en_words.append((noun.en_pl if plural else noun.en, noun_link, True))
        for a in adjs:
            if a.pre:
                fr_words.append((a.forms[key], adj_links[a.en], True))
        fr_words.append((noun.fr_pl if plural else noun.fr, noun_link, True))
        for a in adjs:
            if not a.pre:
                fr_words.append((a.forms[key], adj_links[a.en], True))
        return en_words, fr_words, plural

    def emit(self, en_words, fr_words):
        for w, k, c in en_words:
            self.en.add(w, k, c)
        for w, k, c in fr_words:
            self.fr.add(w, k, c)

    def sentence(self):
        rng = self.rng
        # Which noun phrase carries the required (held-out) pair, if any.
        slots = ["subj", "obj", "rel", "pp"]
        forced_slot = rng.choice(slots) if self.required else None
        forced = None
        if self.required:
            forced = rng.choice(self.required)
            noun = next(n for n in LEX_NOUNS if n.en == forced[1])
            adj = next(a for a in LEX_ADJ if a.en == forced[0])
            forced = (adj, noun)
            if not noun.animate and forced_slot in ("subj",):
                forced_slot = "obj"

        def np(slot, animate=None):
            if forced is not None and slot == forced_slot:
                return self.noun_phrase(force_pair=forced)
            return self.noun_phrase(animate=animate)

        transitive = rng.random() < 0.65 or forced_slot == "obj"
        rel_kind = None
        r = rng.random()
        if r < 0.15 or forced_slot == "rel":
            rel_kind = rng.choice(["subj_rel", "obj_rel"])
            if forced_slot == "rel" and not forced[1].animate:
                rel_kind = "subj_rel"  # an inanimate noun cannot be the relative clause's subject
            rel_on = "subj"
        elif r < 0.27 and transitive:
            rel_kind = rng.choice(["subj_rel", "obj_rel"])
            rel_on = "obj"
        with_pp = rng.random() < (0.25 if transitive else 0.5) or forced_slot == "pp"

        subj_en, subj_fr, subj_pl = np("subj", animate=True)
        self.emit(subj_en, subj_fr)
        if rel_kind and rel_on == "subj":
            self.relative(rel_kind, np, subj_pl)
        verb = rng.choice(LEX_TV if transitive else LEX_IV)
        self.word(verb.en_pl if subj_pl else verb.en, verb.fr_pl if subj_pl else verb.fr, True)
        if transitive:
            obj_en, obj_fr, obj_pl = np("obj")
            self.emit(obj_en, obj_fr)
            if rel_kind and rel_on == "obj":
                self.relative(rel_kind, np, obj_pl)
        if with_pp:
            prep_en, prep_fr = rng.choice(LEX_PREP)
            self.word(prep_en, prep_fr, False)
            pp_en, pp_fr, _ = np("pp")
            self.emit(pp_en, pp_fr)
        return self.finish()

    def relative(self, kind, np, head_plural):
        """'that sees the cat' -> 'qui voit le chat' (the verb agrees with the head noun);
        'that the cat sees' -> 'que le chat voit' (the verb agrees with the clause's subject)."""
        if kind == "subj_rel":
            self.word("that", "qui", False)
            verb = self.rng.choice(LEX_TV)
            self.word(verb.en_pl if head_plural else verb.en, verb.fr_pl if head_plural else verb.fr, True)
            obj_en, obj_fr, _ = np("rel")
            self.emit(obj_en, obj_fr)
        else:
            self.word("that", "que", False)
            subj_en, subj_fr, pl = np("rel", animate=True)
            self.emit(subj_en, subj_fr)
            verb = self.rng.choice(LEX_TV)
            self.word(verb.en_pl if pl else verb.en, verb.fr_pl if pl else verb.fr, True)

    def finish(self):
        en, fr = self.en, self.fr
        en.words[-1] += "."
        fr.words[-1] += "."
        where = {k: i for i, k in enumerate(en.links)}
        alignment = sorted((where[k], j) for j, k in enumerate(fr.links) if k in where)
        content = [j for j, c in enumerate(fr.content) if c]
        return Pair(en.words, fr.words, alignment, content, set(self.used))


def all_pairs():
    return [(a.en, n.en) for a in LEX_ADJ for n in LEX_NOUNS]


def make_splits(seed, n_train, n_valid, n_heldout):
    """Train on most adjective+noun pairs; valid and heldout each use their own unseen pairs."""
    rng = random.Random(seed)
    pairs = all_pairs()
    rng.shuffle(pairs)
    n_hold = len(pairs) // 10
    dev_pairs, test_pairs = pairs[:n_hold], pairs[n_hold:2 * n_hold]
    unseen = set(dev_pairs) | set(test_pairs)

    def allowed(adj, noun):
        return (adj, noun) not in unseen

    def generate(n, required, seen):
        out = []
        while len(out) < n:
            b = Builder(rng, allowed, required)
            p = b.sentence()
            key = " ".join(p.src)
            if key in seen or len(p.src) > 24:
                continue
            if required is None and p.adj_nouns & unseen:
                continue
            if required is not None and not (p.adj_nouns & set(required)):
                continue
            seen.add(key)
            out.append(p)
        return out

    seen = set()
    train = generate(n_train, None, seen)
    valid = generate(n_valid, dev_pairs, seen)
    heldout = generate(n_heldout, test_pairs, seen)
    return {"train": train, "valid": valid, "heldout": heldout}


def vocabulary():
    """All words either side can produce (for the model card)."""
    en, fr = set(), set()
    for n in LEX_NOUNS:
        en |= {n.en, n.en_pl}
        fr |= {n.fr, n.fr_pl}
    for a in LEX_ADJ:
        en.add(a.en)
        fr |= set(a.forms.values())
    for v in LEX_TV + LEX_IV:
        en |= {v.en, v.en_pl}
        fr |= {v.fr, v.fr_pl}
    for e, f in LEX_PREP:
        en.add(e)
        fr.add(f)
    for d, forms in DETERMINERS.items():
        en.add(d)
        fr |= {f for f in forms if f}
    en |= {"an", "that"}
    fr |= {"qui", "que"}
    return en, fr
