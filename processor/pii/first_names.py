"""Common first names of people who live in Germany: what finds a name that no salutation
announces (``Telefonat mit Thomas Berger``, ``bitte an Jürgen weiterleiten``).

Chosen by hand for a CRM's adults and their children: the frequent German names of the birth
years 1930–2020, the frequent names of the largest immigrant groups (Turkish, Polish, Russian
and other post-Soviet, Italian, Greek, Balkan, Arabic, Vietnamese) as they are spelt in German
registers, and the international names that German parents choose. A name that is also a
common German word (``Ernst``, ``Rose``, ``Mark``, the bird ``Milan``), a month's abbreviation
(``Jan``) or a brand (``Fritz!Box``, ``Otto``) counts only with a surname after it:
``AMBIGUOUS``. ``August`` is left out: the month is far more frequent in a CRM's notes than the
name.

No list of names is complete: a first name that is not here is found only after a salutation,
a role or a sign-off, or as one of the CRM's own people (``pii/names.py``).
"""

from __future__ import annotations

_GERMAN = """
    Achim Adam Adelheid Adolf Adrian Agnes Albert Alexander Alexandra Alfred Alfons Alina Alma
    Amelie Andrea Andreas Angela Angelika Anita Anja Anke Anna Anne Annegret Anneliese Annemarie
    Annette Annika Anton Antonia Antje Armin Arne Arnold Astrid Axel Barbara Bärbel Beate Ben
    Benedikt Benjamin Bernd Bernhard Berta Bertha Bettina Bianca Birgit Birte Björn Brigitte
    Bruno Brunhilde Burkhard Carina Carl Carla Carmen Carola Carolin Caroline Carsten Charlotte
    Christa Christel Christian Christiane Christina Christine Christoph Christopher Clara
    Claudia Clemens Constanze Cornelia Dagmar Daniel Daniela David Denise Dennis Detlef Detlev
    Diana Dieter Dietmar Dietrich Dirk Dominik Dora Doris Dorothea Dorothee Edeltraud Edgar
    Edith Eduard Egon Elena Elfriede Elias Elisabeth Elke Ella Ellen Elli Elsa Else Emil Emilia
    Emily Emma Erhard Erich Erika Erna Erwin Esther Eugen Eva Ewald Fabian Felix Finn Florian
    Frank Franz Franziska Frauke Frida Frieda Friederike Friedhelm Friedrich Gabriele Georg Gerd
    Gerda Gerhard Gerlinde Gernot Gert Gertrud Gisela Gottfried Greta Gudrun Günter Günther
    Gustav Hanna Hannah Hannelore Hannes Hans Harald Hartmut Hedwig Heidi Heidemarie Heike Heiko
    Heinrich Heinz Helena Helene Helga Helmut Helmuth Hendrik Henning Henri Henrik Henry Herbert
    Hermann Herta Hertha Hilde Hildegard Holger Horst Hubert Hugo Ida Ilse Ines Inge Ingeborg
    Ingo Ingrid Irene Irmgard Isabel Isabell Isabella Jakob Jana Janina Janine Jannik Jasmin
    Jennifer Jens Jessica Joachim Jochen Johann Johanna Johannes Jonas Jonathan Jörg Josef
    Josefine Joseph Judith Julia Julian Juliane Julius Jürgen Justus Jutta Karin Karina Karl
    Karla Karolina Karsten Katharina Kathrin Katja Katrin Kerstin Kevin Kirsten Klara Klaus
    Konrad Konstantin Kristina Kurt Lara Lars Laura Lea Lena Leni Leo Leon Leonie Liane
    Lieselotte Lilli Lina Linda Lisa Liselotte Lothar Lotte Louisa Luca Ludwig Luis Luisa Luise
    Lukas Lutz Magdalena Maik Maike Malte Mandy Manfred Manuel Manuela Marc Marcel Marco Marcus
    Margarete Margit Margot Margret Maria Marianne Marie Mario Marion Marius Markus Marlene
    Marlies Martha Martin Martina Mathias Mats Matthias Maximilian Meike Melanie Mia Michael
    Michaela Michelle Mila Miriam Mirko Monika Moritz Nadine Nadja Natalie Nicole Niklas Nikolas
    Nils Nina Noah Nora Norbert Olaf Ole Oliver Oskar Pascal Patricia Patrick Paul Paula Peter
    Petra Philipp Pia Rainer Ralf Ralph Rebecca Regina Reinhard Reinhold Renate Rene René
    Richard Robert Robin Roland Rita Rolf Ronja Ronny Rosemarie Roswitha Rudolf Rüdiger Ruth
    Sabine Sabrina Sandra Sara Sarah Sascha Sebastian Siegfried Silke Silvia Simon Simone Sofia
    Sonja Sophia Sophie Stefan Stefanie Steffen Steffi Stephan Stephanie Susanne Svea Sven
    Svenja Sybille Sylvia Tamara Tanja Theo Theresa Thomas Thorsten Till Tim Timo Tina Tobias
    Tom Toni Torsten Udo Ulf Ulla Ulrich Ulrike Ursula Ute Uwe Valentin Vanessa Vera Verena
    Viktor Volker Walter Waltraud Werner Wiebke Wilfried Wilhelm Willi Willy Winfried Wolfgang
    Yvonne
    Alex Benni Chris Conny Dani Gabi Hauke Kathi Micha Nico Sanne Tobi Uli Grete Gretel Liesel
"""
#: the frequent names of children born since 2010 (a CRM's notes name customers' children)
_YOUNGER = """
    Aaron Amina Arthur Ava Bastian Carlotta Elisa Emilie Erik Ferdinand Filip Fiona Frederik
    Gabriel Helen Henriette Isabelle Jonah Joshua Kilian Korbinian Leonard Leopold Levi Levin
    Lia Liam Linus Lion Lorenz Lotta Louis Luka Lucas Luna Maja Mara Marlon Matilda Mathilda
    Matteo Maya Melina Mira Nele Nicolas Noel Olivia Paulina Pauline Philippa Rafael Raphael
    Romy Rosalie Samuel Stella Theodor Valerie Vincent Xaver Zoe
"""
#: Turkish, Kurdish, Arabic and Persian names as German registers spell them
_TURKISH_ARABIC = """
    Ahmad Ahmed Ahmet Ali Alper Ayla Aylin Ayse Ayşe Baran Burak Can Cem Deniz Derya Ebru Elif
    Emine Emre Esra Fatima Fatma Gül Hakan Hasan Hatice Hülya Hussein Ibrahim İbrahim Ilknur
    Kemal Leyla Mahmoud Mehmet Melek Merve Mohamed Mohammad Mohammed Murat Mustafa Nesrin Omar
    Orhan Özlem Reza Selin Serkan Sevgi Tarek Tuba Ümit Yasemin Yusuf Zehra Zeynep
"""
#: Polish, Russian and other Slavic, Baltic and Romanian names
_EASTERN = """
    Agnieszka Aleksandra Alexej Anastasia Andrzej Dmitri Dragan Ewa Goran Igor Irina Jelena
    Joanna Jolanta Katarzyna Krzysztof Ljudmila Magdalena Małgorzata Marek Milena
    Natalia Natalja Nikolai Oksana Olga Piotr Swetlana Svetlana Sergej Sergei Tatjana Tomasz
    Valentina Vladimir Waldemar Wladimir Zofia Marija Ivana Jovana Milica Dragana Vesna
    Mirjana Snežana Ivan Marko Nikola Zoran Dejan Aleksandar
"""
#: Italian, Greek, Spanish, Portuguese and Vietnamese names
_SOUTHERN = """
    Alessandro Andrea Antonio Carlos Dimitrios Francesco Georgios Giovanni Giuseppe Isabel
    Juan Konstantinos Lucia Luigi Manuel Marco Nikolaos Paolo Pedro Salvatore Vincenzo
    Anh Hoa Linh Minh Thanh Thi Thị Văn Lan Hương Huong Trang Quang Tuan Tuấn Dung Dũng Hung
    Hùng Ngoc Ngọc Phuong Phương
"""
#: English names, as an international firm's mails and notes hold them (those that are also
#: English words are AMBIGUOUS, or left out: ``Will``, ``Bill``, ``Hope``, ``Joy``)
_ENGLISH = """
    Abigail Alan Alice Amanda Amy Andrew Anthony Ashley Barry Betty Brandon Brenda Brian Bryan
    Catherine Charles Cheryl Christopher Cynthia Deborah Debra Donald Donna Dorothy Douglas
    Edward Elizabeth Emma Eric Ethan Evelyn Gary George Gregory Harold Heather Jacob James Janet
    Jason Jeffrey Jeremy Jerry Joe John Joshua Joyce Judy Justin Karen Katherine Kathleen Kathy
    Keith Kelly Kenneth Kimberly Kyle Larry Lauren Lawrence Margaret Mary Matthew Megan Melissa
    Nancy Nathan Nicholas Pamela Patricia Rachel Raymond Roger Ronald Russell Ryan Samantha Scott
    Sean Sharon Shirley Stephen Steven Susan Teresa Terry Timothy Tyler Victoria William Zachary
    Jane Mike Dave Steve Tony Bob Jim Kate Sue Liz Jenny Matt Nick Rob Dan Andy Pete Greg Jeff
"""
#: Indian names, as the IT and engineering firms' mails hold them
_INDIAN = """
    Aditya Amit Anil Anjali Arjun Deepak Neha Pooja Priya Rahul Raj Rajesh Ravi Sanjay Sunil
    Vijay
"""
#: first names that are also German words, a month's abbreviation or a brand: only with a
#: surname after them (``Jan Berger``, not the ``Jan`` of ``15. Jan 2026``)
AMBIGUOUS = frozenset(["Can", "Ernst", "Fritz", "Iris", "Jan", "Kai", "Marina", "Mark", "Max",
                       "Milan", "Otto", "Rosa", "Rose", "Viktoria", "Van", "Jack", "Grace",
                       "Jordan", "Austin", "Dean", "Jean", "Carol", "Amber", "Virginia", "Ray", "Sam"])

FIRST_NAMES = (frozenset((_GERMAN + _YOUNGER + _TURKISH_ARABIC + _EASTERN + _SOUTHERN
                          + _ENGLISH + _INDIAN).split())
               | AMBIGUOUS)
#: the middle names between a Vietnamese family name and the given name (``Nguyễn Thị Lan``,
#: ``Tran Van Minh``): the word after one is a name, too
MIDDLE_NAMES = frozenset(["Thị", "Thi", "Văn", "Van"])
